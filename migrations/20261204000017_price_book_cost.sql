-- The price book editor (issue 20): what an item costs the company, for margins; optional.
alter table price_book_items add column cost_cents bigint check (cost_cents >= 0);
