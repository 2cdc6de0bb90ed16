-- The technician app builds options from the price book: each item says how far below its price
-- a technician may go on their own (a manager sets it), and carries a description to read to the
-- customer. Checklist templates get a service type so a plumbing visit gets plumbing steps.
alter table price_book_items
    add column max_discount_pct smallint not null default 0 check (max_discount_pct between 0 and 100),
    add column description text not null default '';

alter table checklist_templates
    add column service_type text;
