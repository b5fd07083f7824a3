package bench

import (
	"database/sql"

	_ "modernc.org/sqlite"
)

// SQLite commits each batch in one transaction. WAL with synchronous=FULL
// keeps every commit durable at one fsync, SQLite's fastest durable setting.
type SQLite struct {
	db  *sql.DB
	ins *sql.Stmt
}

func OpenSQLite(path string) (*SQLite, error) {
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=journal_mode(WAL)&_pragma=synchronous(FULL)")
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(1)
	if _, err := db.Exec(`CREATE TABLE IF NOT EXISTS rows (id INTEGER PRIMARY KEY, ts INTEGER, value REAL, count INTEGER)`); err != nil {
		db.Close()
		return nil, err
	}
	ins, err := db.Prepare(`INSERT INTO rows (id, ts, value, count) VALUES (?, ?, ?, ?)`)
	if err != nil {
		db.Close()
		return nil, err
	}
	return &SQLite{db: db, ins: ins}, nil
}

func (s *SQLite) Commit(rs []Row) error {
	tx, err := s.db.Begin()
	if err != nil {
		return err
	}
	st := tx.Stmt(s.ins)
	for _, r := range rs {
		if _, err := st.Exec(r.ID, r.TS, r.Value, int64(r.Count)); err != nil {
			tx.Rollback()
			return err
		}
	}
	return tx.Commit()
}

func (s *SQLite) Rows() (int, error) {
	var n int
	err := s.db.QueryRow(`SELECT count(*) FROM rows`).Scan(&n)
	return n, err
}

func (s *SQLite) Close() error {
	s.ins.Close()
	return s.db.Close()
}
