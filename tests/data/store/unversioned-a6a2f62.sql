CREATE TABLE IF NOT EXISTS checks (
    id INTEGER PRIMARY KEY,
    channel TEXT NOT NULL,
    user_id TEXT,
    label TEXT NOT NULL,
    spec TEXT NOT NULL,
    started_at REAL NOT NULL,
    finished_at REAL,
    status TEXT NOT NULL DEFAULT 'running',
    summary TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS checks_channel ON checks (channel, started_at);
CREATE INDEX IF NOT EXISTS checks_started ON checks (started_at);
CREATE TABLE IF NOT EXISTS watches (
    id INTEGER PRIMARY KEY,
    channel TEXT NOT NULL,
    user_id TEXT,
    label TEXT NOT NULL,
    spec TEXT NOT NULL,
    message_ts TEXT,
    thread_ts TEXT,
    started_at REAL NOT NULL,
    expires_at REAL NOT NULL,
    checks INTEGER NOT NULL DEFAULT 0,
    baseline TEXT NOT NULL DEFAULT '[]',
    state TEXT NOT NULL DEFAULT 'active',
    ended_at REAL,
    outcome TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS watches_state ON watches (state);
CREATE TABLE IF NOT EXISTS incidents (
    id INTEGER PRIMARY KEY,
    channel TEXT NOT NULL,
    user_id TEXT,
    message_ts TEXT,
    kind TEXT NOT NULL,
    finding_ids TEXT NOT NULL,
    summary TEXT NOT NULL,
    created_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS incidents_channel ON incidents (channel, created_at);
CREATE INDEX IF NOT EXISTS incidents_created ON incidents (created_at);
CREATE TABLE IF NOT EXISTS deliveries (
    event_id TEXT PRIMARY KEY,
    seen_at REAL NOT NULL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS deliveries_seen ON deliveries (seen_at);
