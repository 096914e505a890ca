-- The app database as release 0.1.0 created it (metadata.create_all on PostgreSQL), frozen:
-- what tests/storage/test_migrations.py upgrades (on SQLite with the types SQLite was given).

CREATE TABLE acct_users (
	id SERIAL NOT NULL,
	name VARCHAR(128) NOT NULL,
	role VARCHAR(32) NOT NULL,
	entity_ids JSON NOT NULL,
	location_ids JSON NOT NULL,
	disabled BOOLEAN NOT NULL,
	password_hash VARCHAR(255) NOT NULL,
	failed_attempts INTEGER NOT NULL,
	locked_until TIMESTAMP WITHOUT TIME ZONE,
	created_at TIMESTAMP WITHOUT TIME ZONE NOT NULL,
	last_login_at TIMESTAMP WITHOUT TIME ZONE,
	password_changed_at TIMESTAMP WITHOUT TIME ZONE NOT NULL,
	PRIMARY KEY (id),
	UNIQUE (name)
);

CREATE TABLE acct_sessions (
	id SERIAL NOT NULL,
	user_id INTEGER NOT NULL,
	digest VARCHAR(64) NOT NULL,
	created_at TIMESTAMP WITHOUT TIME ZONE NOT NULL,
	expires_at TIMESTAMP WITHOUT TIME ZONE NOT NULL,
	ended_at TIMESTAMP WITHOUT TIME ZONE,
	PRIMARY KEY (id),
	FOREIGN KEY(user_id) REFERENCES acct_users (id),
	UNIQUE (digest)
);

CREATE INDEX ix_acct_sessions_user_id ON acct_sessions (user_id);

CREATE TABLE acct_tokens (
	id SERIAL NOT NULL,
	user_id INTEGER NOT NULL,
	digest VARCHAR(64) NOT NULL,
	prefix VARCHAR(16) NOT NULL,
	label VARCHAR(128) NOT NULL,
	created_at TIMESTAMP WITHOUT TIME ZONE NOT NULL,
	last_used_at TIMESTAMP WITHOUT TIME ZONE,
	revoked_at TIMESTAMP WITHOUT TIME ZONE,
	PRIMARY KEY (id),
	FOREIGN KEY(user_id) REFERENCES acct_users (id),
	UNIQUE (digest)
);

CREATE INDEX ix_acct_tokens_user_id ON acct_tokens (user_id);

CREATE TABLE exc_items (
	id SERIAL NOT NULL,
	type VARCHAR(64) NOT NULL,
	key VARCHAR(255) NOT NULL,
	status VARCHAR(16) NOT NULL,
	severity VARCHAR(16) NOT NULL,
	owner_role VARCHAR(32) NOT NULL,
	assignee VARCHAR(128),
	location_id VARCHAR(64),
	entity_id VARCHAR(64),
	item_id VARCHAR(64),
	sla_hours FLOAT NOT NULL,
	created_at TIMESTAMP WITHOUT TIME ZONE NOT NULL,
	last_seen_at TIMESTAMP WITHOUT TIME ZONE NOT NULL,
	times_seen INTEGER NOT NULL,
	active BOOLEAN NOT NULL,
	last_action_at TIMESTAMP WITHOUT TIME ZONE,
	snoozed_until TIMESTAMP WITHOUT TIME ZONE,
	resolved_at TIMESTAMP WITHOUT TIME ZONE,
	resolution_code VARCHAR(32),
	value_at_risk FLOAT,
	detail JSON NOT NULL,
	version INTEGER NOT NULL,
	PRIMARY KEY (id),
	CONSTRAINT uq_exc_items_type_key UNIQUE (type, key)
);

CREATE INDEX ix_exc_items_status_type ON exc_items (status, type);

CREATE TABLE exc_alert_notifications (
	id SERIAL NOT NULL,
	rule VARCHAR(128) NOT NULL,
	scope_value VARCHAR(255) NOT NULL,
	kind VARCHAR(16) NOT NULL,
	channel VARCHAR(16) NOT NULL,
	created_at TIMESTAMP WITHOUT TIME ZONE NOT NULL,
	status VARCHAR(16) NOT NULL,
	attempts INTEGER NOT NULL,
	error TEXT,
	subject TEXT NOT NULL,
	body TEXT NOT NULL,
	exception_id INTEGER,
	PRIMARY KEY (id),
	FOREIGN KEY(exception_id) REFERENCES exc_items (id)
);

CREATE INDEX ix_exc_alert_notifications_rule ON exc_alert_notifications (rule);

CREATE TABLE exc_alert_states (
	id SERIAL NOT NULL,
	rule VARCHAR(128) NOT NULL,
	scope_value VARCHAR(255) NOT NULL,
	state VARCHAR(16) NOT NULL,
	since TIMESTAMP WITHOUT TIME ZONE NOT NULL,
	evaluated_at TIMESTAMP WITHOUT TIME ZONE NOT NULL,
	period DATE,
	value FLOAT,
	streak INTEGER NOT NULL,
	exception_id INTEGER,
	last_notified_at TIMESTAMP WITHOUT TIME ZONE,
	notifications INTEGER NOT NULL,
	PRIMARY KEY (id),
	CONSTRAINT uq_exc_alert_rule_scope UNIQUE (rule, scope_value),
	FOREIGN KEY(exception_id) REFERENCES exc_items (id)
);

CREATE TABLE exc_audit (
	id SERIAL NOT NULL,
	item_id INTEGER NOT NULL,
	actor VARCHAR(128) NOT NULL,
	at TIMESTAMP WITHOUT TIME ZONE NOT NULL,
	action VARCHAR(32) NOT NULL,
	changes JSON NOT NULL,
	version INTEGER NOT NULL,
	note TEXT,
	PRIMARY KEY (id),
	FOREIGN KEY(item_id) REFERENCES exc_items (id)
);

CREATE INDEX ix_exc_audit_item_id ON exc_audit (item_id);

CREATE TABLE exc_comments (
	id SERIAL NOT NULL,
	item_id INTEGER NOT NULL,
	author VARCHAR(128) NOT NULL,
	created_at TIMESTAMP WITHOUT TIME ZONE NOT NULL,
	body TEXT NOT NULL,
	PRIMARY KEY (id),
	FOREIGN KEY(item_id) REFERENCES exc_items (id)
);

CREATE INDEX ix_exc_comments_item_id ON exc_comments (item_id);
