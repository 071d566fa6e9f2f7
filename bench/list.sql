-- bench/list.sql: the SQL behind GET /v1/partnerships?status=active&limit=50, for pgbench -M prepared.
-- 51 rows are read so that the server knows whether there is a next page; it sends 50.
-- Replace it with the statement the server prepares, so that both sides do the same work, with the
-- server's $1 written :id. pgbench reads :word as a variable even inside a string literal, so a
-- colon followed by a letter must be written otherwise: in to_char formats, ":" as below.
SELECT coalesce(json_agg(s.j ORDER BY s.created_at, s.id), '[]')::text
FROM (
    SELECT p.created_at, p.id, json_build_object(
        'id', p.id, 'title', p.title, 'title_ar', p.title_ar, 'type_id', p.type_id,
        'ministry_id', p.ministry_id, 'programme', p.programme, 'instrument', p.instrument,
        'instrument_reference', p.instrument_reference, 'legal_basis', p.legal_basis,
        'start_date', p.start_date, 'end_date', p.end_date, 'amount', p.amount::text,
        'currency', p.currency, 'status', p.status, 'governorates', p.governorates,
        'description', p.description, 'source', p.source, 'version', p.version,
        'created_at', to_char(p.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24":"MI":"SS.US"Z"'),
        'updated_at', to_char(p.updated_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24":"MI":"SS.US"Z"'),
        'organizations', (SELECT json_agg(json_build_object('organization_id', po.organization_id,
                                                            'role', po.role) ORDER BY po.position)
                          FROM partnership_organizations po WHERE po.partnership_id = p.id)) AS j
    FROM partnerships p
    WHERE p.status = 'active' AND p.deleted_at IS NULL
    ORDER BY p.created_at, p.id
    LIMIT 51
) s;
