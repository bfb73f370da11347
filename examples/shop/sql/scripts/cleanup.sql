-- Run by hand by the on-call engineer when the disk alarm fires.

-- Notifications older than 180 days are never read again.
DELETE FROM notifications WHERE sent_at < now() - interval '180 days';

-- Old order events go partition by partition (detaching is instant; a DELETE would bloat).
ALTER TABLE order_events DETACH PARTITION order_events_2024_11;

-- audit_events has no retention policy yet: all we can do is vacuum it.
VACUUM (ANALYZE) audit_events;
