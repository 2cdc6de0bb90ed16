-- Marketing spend (issue 21): what the company paid per month for each lead source, and for a
-- campaign within it ('' is spend on the source not tied to a campaign). Entered or imported as
-- CSV by a manager; the marketing report divides it by the month's lead cohort.
create table marketing_spend (
    company_id    uuid not null references companies (id),
    month         date not null check (extract(day from month) = 1),
    source        text not null check (length(source) between 1 and 40),
    campaign      text not null default '' check (length(campaign) <= 200),
    amount_cents  bigint not null check (amount_cents between 0 and 10000000000),
    updated_by    uuid not null,
    updated_at    timestamptz not null default now(),
    primary key (company_id, month, source, campaign)
);
