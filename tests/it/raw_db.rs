//! Plain SQL on a test's database, behind the server's back (setup and
//! inspection only), on either engine.

#![allow(dead_code)]

/// A connection to a test database of either engine.
pub enum Db {
    /// A SQLite file.
    Sqlite(rusqlite::Connection),
    /// A PostgreSQL database.
    Postgres(tokio_postgres::Client),
}

impl Db {
    /// Connects to `database` (a `sqlite://` or `postgres://` URL).
    pub async fn open(database: &str) -> Db {
        match database.strip_prefix("sqlite://") {
            Some(path) => Db::Sqlite(rusqlite::Connection::open(path).expect("open SQLite")),
            None => {
                let (client, conn) = tokio_postgres::connect(database, tokio_postgres::NoTls)
                    .await
                    .expect("connect to PostgreSQL");
                tokio::spawn(conn);
                Db::Postgres(client)
            }
        }
    }

    /// Whether this is PostgreSQL.
    pub fn is_postgres(&self) -> bool {
        matches!(self, Db::Postgres(_))
    }

    /// Runs statements without parameters.
    pub async fn batch(&self, sql: &str) {
        match self {
            Db::Sqlite(c) => c
                .execute_batch(sql)
                .unwrap_or_else(|e| panic!("{e}: {sql}")),
            Db::Postgres(c) => c
                .batch_execute(sql)
                .await
                .unwrap_or_else(|e| panic!("{e}: {sql}")),
        }
    }

    /// Runs one statement with text parameters; returns the rows changed.
    pub async fn execute(&self, sql: &str, params: &[&str]) -> u64 {
        match self {
            Db::Sqlite(c) => c
                .execute(sql, rusqlite::params_from_iter(params))
                .unwrap_or_else(|e| panic!("{e}: {sql}")) as u64,
            Db::Postgres(c) => {
                let params: Vec<&(dyn tokio_postgres::types::ToSql + Sync)> = params
                    .iter()
                    .map(|p| p as &(dyn tokio_postgres::types::ToSql + Sync))
                    .collect();
                c.execute(sql, &params)
                    .await
                    .unwrap_or_else(|e| panic!("{e}: {sql}"))
            }
        }
    }

    /// The first column of every row, as text (`CAST … AS TEXT` it if need be).
    pub async fn texts(&self, sql: &str) -> Vec<String> {
        match self {
            Db::Sqlite(c) => c
                .prepare(sql)
                .and_then(|mut s| s.query_map([], |r| r.get(0))?.collect())
                .unwrap_or_else(|e| panic!("{e}: {sql}")),
            Db::Postgres(c) => c
                .query(sql, &[])
                .await
                .unwrap_or_else(|e| panic!("{e}: {sql}"))
                .iter()
                .map(|r| r.get(0))
                .collect(),
        }
    }

    /// A single integer (`CAST … AS BIGINT` it on PostgreSQL if need be).
    pub async fn integer(&self, sql: &str) -> i64 {
        match self {
            Db::Sqlite(c) => c
                .query_row(sql, [], |r| r.get(0))
                .unwrap_or_else(|e| panic!("{e}: {sql}")),
            Db::Postgres(c) => c
                .query_one(sql, &[])
                .await
                .unwrap_or_else(|e| panic!("{e}: {sql}"))
                .get(0),
        }
    }
}
