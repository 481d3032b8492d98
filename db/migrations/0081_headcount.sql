-- 0081: a client's headcount, defined once for SQL: the twin of rules/headcount.h
-- (tests/integration/test_headcount_sql.c keeps them equal). persons: the larger of the
-- reported count and the distinct tokens; persons_max: the reported maximum when it is at least
-- those persons, else NULL (a maximum below what the tokens prove is stale).
CREATE FUNCTION mni_client_persons(p_reported bigint, p_tokens bigint)
RETURNS bigint LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$ SELECT greatest(coalesce(p_reported, 0), coalesce(p_tokens, 0)) $$;

CREATE FUNCTION mni_client_persons_max(p_reported_max bigint, p_persons bigint)
RETURNS bigint LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$ SELECT CASE WHEN p_reported_max >= p_persons THEN p_reported_max END $$;
