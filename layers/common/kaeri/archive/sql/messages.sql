-- KPI input: the period's message log, latest state of each message.
SELECT
  m.message_id, m.customer_id, m.scenario_id, m.step_id, m.status, m.created_at, m.channel,
  m.skip_reason, m.sent_at, m.journey_id, m.variant
FROM messages AS m
ORDER BY m.created_at, m.message_id
