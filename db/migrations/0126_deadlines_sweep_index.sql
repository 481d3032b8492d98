-- 0126: the sweeper reads only the deadlines due before its horizon, in the order of an index
-- (issue 6, W3: cost in proportion to the work).
--
-- The sweeper's scan (notify/sweeper.c, sweeper.scan) wants the open deadlines whose end
-- (mni_due_end, 0010) is at most now + notify.remind_before_hours and that still owe a
-- reminder or an escalation, oldest end first, at most notify.batch of them. No index gave
-- that: each pass computed the end of every open deadline of every open case, then sorted the
-- matches (in W3, 6.5% of PostgreSQL's statement time, growing with the number of cases).
--
-- deadlines_sweep holds exactly the rows the sweeper may still act on: not met, and not both
-- reminded and escalated. Keyed by their end, an index scan reads the rows up to the horizon
-- and stops after notify.batch of them: what is due, not the whole table. A stamp that
-- completes a row (escalated_at after reminded_at) takes it out. Rows of closed cases stay
-- in it until met (the scan joins cases and skips them), as they did in the scan before.
CREATE INDEX deadlines_sweep ON deadlines (mni_due_end(due_date, due_at), deadline_id)
    WHERE met_at IS NULL AND (reminded_at IS NULL OR escalated_at IS NULL);
