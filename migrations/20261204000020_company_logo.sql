-- The company profile (issue 20): a logo, shown on the customer presentation. It is one of the
-- company's own uploaded images (content-addressed, like photos and signatures).
alter table companies add column logo_sha256 text;
alter table companies add constraint companies_logo_fk
    foreign key (id, logo_sha256) references blobs (company_id, sha256);
