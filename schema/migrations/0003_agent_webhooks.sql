-- AI agents as colleagues (docs/agents.md). The profile itself (trigger_keywords, webhook_endpoint,
-- response_timeout, auto_join_groups …) lives in employee.agent_profile (jsonb, 0001).
-- Independent of any other migration: it only adds what nothing else touches.

-- The webhook signing secret is derived from CREDENTIAL_SECRET, the employee and this version, so
-- no secret is stored; bumping it (employee.update rotate_webhook_secret) revokes the old one.
ALTER TABLE employee ADD COLUMN webhook_secret_version integer NOT NULL DEFAULT 1;

-- Every message looks for the agents it may trigger; agents are few among employees.
CREATE INDEX employee_active_agent_idx ON employee (employee_id) WHERE is_ai_agent AND status = 'active';
