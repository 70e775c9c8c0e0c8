-- 003_trends: the same counts as the cumulative tables, per period of time, for trends and windows.
--
-- A report's period is the one its own timestamp (the student's clock, as the lake holds it) falls in:
-- period_start = floor(timestamp / period) * period, in epoch seconds (UTC). The period length is an
-- analyzer setting pinned in analyzer_settings (key 'trend_period_seconds') like the cell size: a
-- divisor of an hour, so hours and days are whole numbers of periods. Buckets and failures work as in
-- 001_init (whole-percent score buckets judged by the current thresholds at query time).

-- Per exercise × region × period × score bucket: trends of an exercise or of a region; the exercises
-- and regions tables of a window.
CREATE TABLE trend_histogram (
  exercise_id  text COLLATE "C" NOT NULL,
  region       text COLLATE "C" NOT NULL,
  period_start bigint   NOT NULL,
  bucket       smallint NOT NULL CHECK (bucket BETWEEN 0 AND 100),
  reports      bigint           NOT NULL,
  score_sum    double precision NOT NULL,
  PRIMARY KEY (exercise_id, region, period_start, bucket)
) WITH (fillfactor = 80);

CREATE INDEX trend_histogram_period ON trend_histogram (period_start);

-- Per exercise × grid cell × period × score bucket: the hotspots of a window.
CREATE TABLE cell_trend_histogram (
  exercise_id  text COLLATE "C" NOT NULL,
  cell_y       integer  NOT NULL,
  cell_x       integer  NOT NULL,
  period_start bigint   NOT NULL,
  bucket       smallint NOT NULL CHECK (bucket BETWEEN 0 AND 100),
  reports      bigint   NOT NULL,
  PRIMARY KEY (exercise_id, period_start, cell_y, cell_x, bucket)
) WITH (fillfactor = 80);

CREATE UNLOGGED TABLE partial_trend_histogram (
  run_id       text NOT NULL,
  exercise_id  text NOT NULL,
  region       text NOT NULL,
  period_start bigint   NOT NULL,
  bucket       smallint NOT NULL,
  reports      bigint           NOT NULL,
  score_sum    double precision NOT NULL
);

CREATE UNLOGGED TABLE partial_cell_trend_histogram (
  run_id       text NOT NULL,
  exercise_id  text NOT NULL,
  cell_y       integer  NOT NULL,
  cell_x       integer  NOT NULL,
  period_start bigint   NOT NULL,
  bucket       smallint NOT NULL,
  reports      bigint   NOT NULL
);

-- A warehouse that counted files before this migration has no periods for them: its trends would
-- silently miss those reports. It says so until a rebuild (`acu analyze --rebuild`) recounts the lake.
INSERT INTO analyzer_settings (key, value)
SELECT 'trends_incomplete', 'lake files were counted before trends existed (migration 003_trends); run acu analyze --rebuild'
WHERE EXISTS (SELECT 1 FROM lake_files_counted);

-- The thresholds as the analyzer saw them at each run, a row when one changed: where the trend charts
-- mark a change. exercise_id '' is the default threshold. Times are when a run first saw the value
-- (at most one schedule interval after the change).
CREATE TABLE threshold_changes (
  exercise_id text COLLATE "C" NOT NULL,
  threshold   smallint    NOT NULL CHECK (threshold BETWEEN 0 AND 100),
  observed_at timestamptz NOT NULL,
  PRIMARY KEY (exercise_id, observed_at)
);
