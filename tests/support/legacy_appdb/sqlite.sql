-- The app database as release 0.1.0 created it (metadata.create_all, sqlite), frozen:
-- what tests/storage/test_migrations.py upgrades.

CREATE TABLE acct_users (
	id INTEGER NOT NULL,
	name VARCHAR(128) NOT NULL,
	role VARCHAR(32) NOT NULL,
	entity_ids JSON NOT NULL,
	location_ids JSON NOT NULL,
	disabled BOOLEAN NOT NULL,
	password_hash VARCHAR(255) NOT NULL,
	failed_attempts INTEGER NOT NULL,
	locked_until DATETIME,
	created_at DATETIME NOT NULL,
	last_login_at DATETIME,
	password_changed_at DATETIME NOT NULL,
	PRIMARY KEY (id),
	UNIQUE (name)
);

CREATE TABLE acct_sessions (
	id INTEGER NOT NULL,
	user_id INTEGER NOT NULL,
	digest VARCHAR(64) NOT NULL,
	created_at DATETIME NOT NULL,
	expires_at DATETIME NOT NULL,
	ended_at DATETIME,
	PRIMARY KEY (id),
	FOREIGN KEY(user_id) REFERENCES acct_users (id),
	UNIQUE (digest)
);

CREATE INDEX ix_acct_sessions_user_id ON acct_sessions (user_id);

CREATE TABLE acct_tokens (
	id INTEGER NOT NULL,
	user_id INTEGER NOT NULL,
	digest VARCHAR(64) NOT NULL,
	prefix VARCHAR(16) NOT NULL,
	label VARCHAR(128) NOT NULL,
	created_at DATETIME NOT NULL,
	last_used_at DATETIME,
	revoked_at DATETIME,
	PRIMARY KEY (id),
	FOREIGN KEY(user_id) REFERENCES acct_users (id),
	UNIQUE (digest)
);

CREATE INDEX ix_acct_tokens_user_id ON acct_tokens (user_id);

CREATE TABLE exc_items (
	id INTEGER NOT NULL,
	type VARCHAR(64) NOT NULL,
	"key" VARCHAR(255) NOT NULL,
	status VARCHAR(16) NOT NULL,
	severity VARCHAR(16) NOT NULL,
	owner_role VARCHAR(32) NOT NULL,
	assignee VARCHAR(128),
	location_id VARCHAR(64),
	entity_id VARCHAR(64),
	item_id VARCHAR(64),
	sla_hours FLOAT NOT NULL,
	created_at DATETIME NOT NULL,
	last_seen_at DATETIME NOT NULL,
	times_seen INTEGER NOT NULL,
	active BOOLEAN NOT NULL,
	last_action_at DATETIME,
	snoozed_until DATETIME,
	resolved_at DATETIME,
	resolution_code VARCHAR(32),
	value_at_risk FLOAT,
	detail JSON NOT NULL,
	version INTEGER NOT NULL,
	PRIMARY KEY (id),
	CONSTRAINT uq_exc_items_type_key UNIQUE (type, "key")
);

CREATE INDEX ix_exc_items_status_type ON exc_items (status, type);

CREATE TABLE exc_alert_notifications (
	id INTEGER NOT NULL,
	rule VARCHAR(128) NOT NULL,
	scope_value VARCHAR(255) NOT NULL,
	kind VARCHAR(16) NOT NULL,
	channel VARCHAR(16) NOT NULL,
	created_at DATETIME NOT NULL,
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
	id INTEGER NOT NULL,
	rule VARCHAR(128) NOT NULL,
	scope_value VARCHAR(255) NOT NULL,
	state VARCHAR(16) NOT NULL,
	since DATETIME NOT NULL,
	evaluated_at DATETIME NOT NULL,
	period DATE,
	value FLOAT,
	streak INTEGER NOT NULL,
	exception_id INTEGER,
	last_notified_at DATETIME,
	notifications INTEGER NOT NULL,
	PRIMARY KEY (id),
	CONSTRAINT uq_exc_alert_rule_scope UNIQUE (rule, scope_value),
	FOREIGN KEY(exception_id) REFERENCES exc_items (id)
);

CREATE TABLE exc_audit (
	id INTEGER NOT NULL,
	item_id INTEGER NOT NULL,
	actor VARCHAR(128) NOT NULL,
	at DATETIME NOT NULL,
	action VARCHAR(32) NOT NULL,
	changes JSON NOT NULL,
	version INTEGER NOT NULL,
	note TEXT,
	PRIMARY KEY (id),
	FOREIGN KEY(item_id) REFERENCES exc_items (id)
);

CREATE INDEX ix_exc_audit_item_id ON exc_audit (item_id);

CREATE TABLE exc_comments (
	id INTEGER NOT NULL,
	item_id INTEGER NOT NULL,
	author VARCHAR(128) NOT NULL,
	created_at DATETIME NOT NULL,
	body TEXT NOT NULL,
	PRIMARY KEY (id),
	FOREIGN KEY(item_id) REFERENCES exc_items (id)
);

CREATE INDEX ix_exc_comments_item_id ON exc_comments (item_id);
