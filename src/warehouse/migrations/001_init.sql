-- 001_init: the analytics warehouse.
-- Plain PostgreSQL (15+), no extensions: the same file runs on PGlite and on a PostgreSQL server.
--
-- Cumulative tables hold every counted report, per whole-percent score bucket
-- (bucket = floor(score) clamped to 0..100). Thresholds are whole percents, so
-- "failures" = reports with bucket < threshold is exact and a threshold change
-- never needs a re-read of the lake. Key text columns use the "C" collation:
-- byte-order comparisons are faster and sort the same on every server.

CREATE TABLE exercise_totals (
  exercise_id text COLLATE "C" PRIMARY KEY,
  reports     bigint           NOT NULL,
  score_sum   double precision NOT NULL
);

-- Grid cell of a report: cell_y = floor(latitude / cell size), cell_x = floor(longitude / cell size);
-- the cell size is stored in analyzer_settings. fillfactor leaves room on each page so that adding
-- to reports (not indexed) is a HOT update that needs no index entry and no vacuum.
CREATE TABLE cell_histogram (
  exercise_id text COLLATE "C" NOT NULL,
  cell_y      integer  NOT NULL,
  cell_x      integer  NOT NULL,
  bucket      smallint NOT NULL CHECK (bucket BETWEEN 0 AND 100),
  reports     bigint   NOT NULL,
  PRIMARY KEY (exercise_id, cell_y, cell_x, bucket)
) WITH (fillfactor = 80);

CREATE TABLE region_histogram (
  exercise_id text COLLATE "C" NOT NULL,
  region      text COLLATE "C" NOT NULL,
  bucket      smallint NOT NULL CHECK (bucket BETWEEN 0 AND 100),
  reports     bigint           NOT NULL,
  score_sum   double precision NOT NULL,
  PRIMARY KEY (exercise_id, region, bucket)
) WITH (fillfactor = 80);

-- Partial aggregates of one analyzer run, written by an analytics engine (embedded, or Spark over
-- JDBC) and merged into the cumulative tables in one transaction. Deliberately plain: no keys, a
-- writer may even emit several rows for one key (the merge sums them). UNLOGGED: they are scratch
-- data of a run that is retried from the lake if anything is lost.
CREATE UNLOGGED TABLE partial_exercise_totals (
  run_id      text NOT NULL,
  exercise_id text NOT NULL,
  reports     bigint           NOT NULL,
  score_sum   double precision NOT NULL
);

CREATE UNLOGGED TABLE partial_cell_histogram (
  run_id      text NOT NULL,
  exercise_id text NOT NULL,
  cell_y      integer  NOT NULL,
  cell_x      integer  NOT NULL,
  bucket      smallint NOT NULL,
  reports     bigint   NOT NULL
);

CREATE UNLOGGED TABLE partial_region_histogram (
  run_id      text NOT NULL,
  exercise_id text NOT NULL,
  region      text NOT NULL,
  bucket      smallint NOT NULL,
  reports     bigint           NOT NULL,
  score_sum   double precision NOT NULL
);

-- Lake files already added to the cumulative tables: each is counted exactly once.
CREATE TABLE lake_files_counted (
  path       text COLLATE "C" PRIMARY KEY,
  run_id     text        NOT NULL,
  counted_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE analyzer_runs (
  run_id      text PRIMARY KEY,
  engine      text        NOT NULL,
  started_at  timestamptz NOT NULL,
  finished_at timestamptz,
  files       integer     NOT NULL DEFAULT 0,
  rows        bigint      NOT NULL DEFAULT 0,
  outcome     text        NOT NULL CHECK (outcome IN ('running', 'succeeded', 'failed')),
  error       text
);

CREATE INDEX analyzer_runs_started_at ON analyzer_runs (started_at DESC);
CREATE INDEX analyzer_runs_succeeded_finished_at ON analyzer_runs (finished_at) WHERE outcome = 'succeeded';

-- key 'cell_size_deg': the grid cell size the cumulative tables were built with.
CREATE TABLE analyzer_settings (
  key   text PRIMARY KEY,
  value text NOT NULL
);
