-- A website enquiry looks its household up by phone or email (intake): without these, each
-- lookup read every customer of the company.
create index customers_phone_idx on customers (company_id, phone) where not deleted and phone is not null;
create index customers_email_idx on customers (company_id, email) where not deleted and email is not null;
