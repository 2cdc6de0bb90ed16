-- Financing plans per company (issue 20): a manager's lenders and terms, synced read-only to
-- devices (kinds version 2). An option names its plan by `code` (options.financing_plan), and the
-- server checks its monthly payment against the plan's terms as they are when the option arrives.
create table financing_plans (
    company_id        uuid not null references companies (id),
    id                uuid not null,
    code              text not null check (code ~ '^[a-z0-9_]{1,40}$'),
    lender            text not null check (length(lender) between 1 and 100),
    apr_bps           integer not null check (apr_bps between 0 and 9999),
    months            integer not null check (months between 1 and 360),
    -- The smallest amount the lender finances (0: any).
    min_amount_cents  bigint not null default 0 check (min_amount_cents >= 0),
    -- Months without interest if paid in full within them (0: none). Shown, not in the payment.
    promo_months      integer not null default 0 check (promo_months between 0 and 120),
    active            boolean not null default true,
    version           bigint not null,
    deleted           boolean not null default false,
    primary key (company_id, id),
    unique (company_id, code)
);
create index financing_plans_version_idx on financing_plans (company_id, version);

-- Every company so far offered the three plans compiled into the app; they become its own rows.
-- They are written at the clock's reserved version, which no writer was handed (the version
-- clock starts above it), then the clock moves past it: at start the server's watermark covers
-- them, so pulls send them (devices re-pull once anyway, to read kinds version 2).
insert into financing_plans (company_id, id, code, lender, apr_bps, months, promo_months, version)
select c.id, gen_random_uuid(), p.code, 'Your lender', p.apr_bps, p.months, p.promo,
       (select reserved from sync_clock)
from companies c,
     (values ('same_as_cash_12', 0, 12, 12), ('apr_999_60', 999, 60, 0), ('apr_799_120', 799, 120, 0))
       as p(code, apr_bps, months, promo);
update sync_clock set reserved = reserved + 1;
