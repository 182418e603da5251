//! ferry's dialect translation: ordered type rules, DDL rendering per dialect, lossy-mapping warnings (pure, no I/O)
