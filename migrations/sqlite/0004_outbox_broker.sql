-- Which broker each dispatch was meant for: the Redis URL without its password, with host,
-- port and db written out, plus the key prefix. Only a control room connected to that same
-- broker delivers the row; rows written before this column existed carry '' and are
-- delivered by no one until an operator decides (see docs/OPERATIONS.md).
ALTER TABLE outbox ADD COLUMN broker TEXT NOT NULL DEFAULT '';
