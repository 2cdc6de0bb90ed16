-- Which company holds which photo or signature (the bytes live in the object store).
create table blobs (
    company_id    uuid not null references companies (id),
    sha256        text not null check (sha256 ~ '^[0-9a-f]{64}$'),
    content_type  text not null,
    byte_size     bigint not null,
    created_by    uuid not null,
    created_at    timestamptz not null default now(),
    primary key (company_id, sha256)
);
