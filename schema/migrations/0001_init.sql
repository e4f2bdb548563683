-- The seed's tables (seed 000 §2.1). Messages are never stored: there is no message table.

CREATE TABLE department (
  department_id text PRIMARY KEY,
  name          text NOT NULL,
  parent_id     text REFERENCES department (department_id) ON DELETE RESTRICT,
  sort_order    integer NOT NULL DEFAULT 0,
  created_at    timestamptz NOT NULL DEFAULT now(),
  updated_at    timestamptz NOT NULL DEFAULT now(),
  CHECK (parent_id IS DISTINCT FROM department_id)
);
CREATE INDEX department_parent_idx ON department (parent_id);

CREATE TABLE employee (
  employee_id        text PRIMARY KEY,
  name               text NOT NULL,
  department_id      text REFERENCES department (department_id) ON DELETE RESTRICT,
  manager_id         text REFERENCES employee (employee_id) ON DELETE SET NULL,
  is_ai_agent        boolean NOT NULL DEFAULT false,
  agent_profile      jsonb,
  skills_badge       text[] NOT NULL DEFAULT '{}',
  role               text NOT NULL DEFAULT 'member' CHECK (role IN ('admin', 'member')),
  status             text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'disabled')),
  -- Bumped to invalidate every mqtt_password issued before (credential rotation).
  credential_version integer NOT NULL DEFAULT 1,
  created_at         timestamptz NOT NULL DEFAULT now(),
  updated_at         timestamptz NOT NULL DEFAULT now(),
  CHECK (manager_id IS DISTINCT FROM employee_id)
);
CREATE INDEX employee_department_idx ON employee (department_id);
CREATE INDEX employee_manager_idx ON employee (manager_id);

-- "group" is reserved in SQL; the seed's group entity lives in chat_group.
CREATE TABLE chat_group (
  group_id            text PRIMARY KEY,
  name                text NOT NULL,
  creator_employee_id text REFERENCES employee (employee_id) ON DELETE SET NULL,
  description         text,
  avatar              text,
  dismissed_at        timestamptz,
  created_at          timestamptz NOT NULL DEFAULT now(),
  updated_at          timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE group_member (
  group_id    text NOT NULL REFERENCES chat_group (group_id) ON DELETE CASCADE,
  employee_id text NOT NULL REFERENCES employee (employee_id) ON DELETE CASCADE,
  role        text NOT NULL DEFAULT 'member' CHECK (role IN ('owner', 'admin', 'member')),
  joined_at   timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (group_id, employee_id)
);
CREATE INDEX group_member_employee_idx ON group_member (employee_id);

CREATE TABLE client_session (
  client_id    text PRIMARY KEY,
  employee_id  text NOT NULL REFERENCES employee (employee_id) ON DELETE CASCADE,
  device_info  text,
  connected_at timestamptz NOT NULL DEFAULT now(),
  expires_at   timestamptz
);
CREATE INDEX client_session_employee_idx ON client_session (employee_id);

-- No foreign keys: the audit trail outlives what it mentions.
CREATE TABLE audit_log (
  audit_id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  operator_employee_id text,
  client_id            text,
  action               text NOT NULL,
  params               jsonb,
  result_code          integer NOT NULL,
  ts                   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX audit_log_ts_idx ON audit_log (ts);
CREATE INDEX audit_log_operator_idx ON audit_log (operator_employee_id, ts);

-- One-time tokens for sensitive actions (seed 000 §6.2): only a hash of the token is kept.
CREATE TABLE auth_challenge (
  challenge_id text PRIMARY KEY,
  employee_id  text NOT NULL REFERENCES employee (employee_id) ON DELETE CASCADE,
  token_hash   text NOT NULL,
  expires_at   timestamptz NOT NULL,
  used_at      timestamptz
);

-- Exactly-once effect per (client_id, seq_id) (DESIGN contract 6): the reply of a write action is
-- stored in the same transaction as its effect and replayed on a repeat. `deliveries` holds only
-- content-free ones (notices); message deliveries are rebuilt from the identical request body.
CREATE TABLE request_reply (
  client_id  text NOT NULL,
  seq_id     text NOT NULL,
  action     text NOT NULL,
  body_hash  text NOT NULL,
  reply      jsonb NOT NULL,
  deliveries jsonb NOT NULL DEFAULT '[]',
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (client_id, seq_id)
);
CREATE INDEX request_reply_created_idx ON request_reply (created_at);
