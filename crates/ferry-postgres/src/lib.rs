//! PostgreSQL introspection, reader and binary COPY writer for ferry
