-- Versions are per company (ADR 0061): one company's writes no longer move another's pull
-- cookie (which told a device how busy every other company on the server was), and writers of
-- different companies no longer update one row. `company_clocks.reserved` is the last version
-- handed out to the company; it only ever grows.
--
-- Every company starts at the one clock's last version, so each company's versions keep
-- growing past every version its devices already hold. A company signed up later starts at 1.
-- No foreign key: sign-up takes the new company's first version before the company commits.

create table company_clocks (
    company_id uuid primary key,
    reserved   bigint not null
);
insert into company_clocks (company_id, reserved)
select c.id, s.reserved from companies c, sync_clock s;

drop table sync_clock;
