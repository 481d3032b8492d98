-- 0010: when a deadline is over, in SQL: the same answer as rules/due_day.h, for the sweeper
-- and `mni cases` (tests/integration/test_due_day_sql.c keeps the two equal on a table of dates).
--
-- The law counts whole days (民法 Art. 141: a period ends when its last day ends), so a report
-- filed at any moment of its due day is on time. A due day ends at 00:00 of the next day in
-- Japan time, exclusive: overdue when now >= mni_due_day_end(due_date). Japan time is UTC+9
-- without daylight saving time, written here as a fixed offset (not 'Asia/Tokyo', whose
-- history has summer time in 1948-1951 and local mean time before 1888), as the C side does.
CREATE FUNCTION mni_due_day_end(due_date date) RETURNS timestamptz
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    AS $$ SELECT ((due_date + 1)::timestamp - interval '9 hours') AT TIME ZONE 'UTC' $$;

-- A deadline row's end: due_at names the last whole second that is still on time (a contract's
-- clock, the policy's notice as 23:59:59), so it ends when that second ends; else the end of
-- due_date. NULL when both are NULL.
CREATE FUNCTION mni_due_end(due_date date, due_at timestamptz) RETURNS timestamptz
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$ SELECT coalesce(to_timestamp(floor(extract(epoch FROM due_at)) + 1),
                          mni_due_day_end(due_date)) $$;
