-- 0082: the grants of waiting_events (0050), which came after the roles of 0040. Ingest parks,
-- marks as reported and releases (deletes) waiting events; readers (`mni case`) see them. The
-- table has no client column, so client roles get nothing (tests/integration/test_rls.c).
GRANT SELECT, INSERT, UPDATE, DELETE ON waiting_events TO mni_ingest;
GRANT SELECT ON waiting_events TO mni_reader;
