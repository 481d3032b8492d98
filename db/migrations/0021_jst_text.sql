-- 0021: an instant as RFC 3339 text in Japan time, the form every page and document of mni
-- shows ("2026-11-20T09:30:00+09:00"). Japan time is UTC+9 without summer time, written as a
-- fixed offset as in 0010 (mni_due_day_end) and in C (common/timefmt.h timefmt_format_jst), so
-- the three agree on every instant. Readers: cli/case_report.c (mni report, mni web).
CREATE FUNCTION mni_jst(t timestamptz) RETURNS text
    LANGUAGE sql STABLE STRICT PARALLEL SAFE
    AS $$ SELECT to_char(t AT TIME ZONE INTERVAL '+09:00', 'YYYY-MM-DD"T"HH24:MI:SS"+09:00"') $$;
