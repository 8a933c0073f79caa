-- Bring-your-own domains (PDM §10.8): one row per onboarded domain and
-- where its steps stand. Same SQL on both backends. Never edit it once
-- released. Version 2 of the hand-applied migrations before sqlx::migrate!.
CREATE TABLE IF NOT EXISTS byo_domains (
    domain TEXT PRIMARY KEY,
    registrar TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('pending', 'complete', 'failed')),
    -- Host names, space-separated.
    nameservers TEXT NOT NULL,
    ns_status TEXT NOT NULL,
    ns_task TEXT,
    ds_status TEXT NOT NULL,
    ds_task TEXT,
    -- DS records in presentation form, one per line.
    ds_records TEXT NOT NULL,
    -- A PDM error code, never upstream text.
    last_error TEXT,
    -- The registrar token, sealed (only with the operator's key and the
    -- caller's keepToken), dropped once the domain is settled.
    sealed_token TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

-- The poller's scan of pending domains.
CREATE INDEX IF NOT EXISTS byo_domains_pending ON byo_domains (state, updated_at);
