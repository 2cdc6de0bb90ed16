-- Companies sign themselves up (issue 20): the trades they sell decide the starter services,
-- checklists and prices offered to them.
alter table companies add column trades text[] not null default '{}'
    check (trades <@ array['hvac', 'plumbing', 'electrical']::text[]);
