-- Every action of seed 002: challenge scope and atomic one-time use, indexes for audit queries.

ALTER TABLE auth_challenge ADD COLUMN for_action text;
ALTER TABLE auth_challenge ADD COLUMN created_at timestamptz NOT NULL DEFAULT now();
CREATE INDEX auth_challenge_expires_idx ON auth_challenge (expires_at);

-- What a replay needs to rebuild a fan-out (a group's name, the members notified) without
-- storing every delivery: the deliveries themselves are derived again from it.
ALTER TABLE request_reply ADD COLUMN facts jsonb;

CREATE INDEX audit_log_action_idx ON audit_log (action, ts);
CREATE INDEX chat_group_live_idx ON chat_group (group_id) WHERE dismissed_at IS NULL;

-- Spends a challenge inside the sensitive action's own transaction, so a concurrent second use
-- waits on the row lock and is refused. Each refusal names a constraint the workers map to a reply.
CREATE FUNCTION consume_challenge(p_challenge_id text, p_employee_id text, p_token_hash text, p_action text)
RETURNS void LANGUAGE plpgsql AS $$
DECLARE
  c auth_challenge;
BEGIN
  SELECT * INTO c FROM auth_challenge WHERE challenge_id = p_challenge_id FOR UPDATE;
  IF NOT FOUND OR c.token_hash <> p_token_hash THEN
    RAISE EXCEPTION 'challenge unknown or token wrong' USING ERRCODE = 'P0001', CONSTRAINT = 'challenge_invalid';
  END IF;
  IF c.employee_id <> p_employee_id THEN
    RAISE EXCEPTION 'challenge belongs to another employee' USING ERRCODE = 'P0001', CONSTRAINT = 'challenge_not_yours';
  END IF;
  IF c.used_at IS NOT NULL THEN
    RAISE EXCEPTION 'challenge already used' USING ERRCODE = 'P0001', CONSTRAINT = 'challenge_used';
  END IF;
  IF c.expires_at <= now() THEN
    RAISE EXCEPTION 'challenge expired' USING ERRCODE = 'P0001', CONSTRAINT = 'challenge_expired';
  END IF;
  IF c.for_action IS NOT NULL AND c.for_action <> p_action THEN
    RAISE EXCEPTION 'challenge issued for another action' USING ERRCODE = 'P0001', CONSTRAINT = 'challenge_wrong_action';
  END IF;
  UPDATE auth_challenge SET used_at = now() WHERE challenge_id = p_challenge_id;
END
$$;

-- A check inside a write transaction, on rows it has locked: refuses (rolling everything back)
-- with a named constraint the workers map to a reply, when what was read before has changed.
CREATE FUNCTION mchat_check(ok boolean, refusal text) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  IF ok IS NOT TRUE THEN
    RAISE EXCEPTION '%', refusal USING ERRCODE = 'P0001', CONSTRAINT = refusal;
  END IF;
END
$$;
