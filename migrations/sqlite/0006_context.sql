-- Which context (a `[[contexts]]` name, or 'default') each action and each dispatch was
-- confirmed in: the audit trail and the outbox name it, so a trail shared by several
-- control rooms and platforms says where each action was aimed.
ALTER TABLE audit ADD COLUMN context TEXT NOT NULL DEFAULT 'default';
ALTER TABLE outbox ADD COLUMN context TEXT NOT NULL DEFAULT 'default';
