-- 002_response_times: the dispatch loop's response times per region, from the lake's incidents/ files.
--
-- Counted from terminal incident events only (resolved / cancelled): each carries every transition time
-- of its incident, so one event per finished incident is enough, whichever lake files its earlier events
-- landed in. A cancelled incident contributes only the steps it reached. Whole seconds from opened
-- (responseSeconds, src/domain/incident-event.ts) make the histograms exact and mergeable, so the
-- percentiles read from them (nearest rank, src/domain/response-times.ts) are exact too.

-- Finished incidents per region and outcome.
CREATE TABLE incident_totals (
  region    text COLLATE "C" NOT NULL,
  outcome   text COLLATE "C" NOT NULL CHECK (outcome IN ('resolved', 'cancelled')),
  incidents bigint NOT NULL,
  PRIMARY KEY (region, outcome)
);

-- Incidents per region, step and whole seconds from opened to the step.
CREATE TABLE response_histogram (
  region    text COLLATE "C" NOT NULL,
  step      text COLLATE "C" NOT NULL CHECK (step IN ('acknowledge', 'onSite', 'resolve')),
  seconds   bigint NOT NULL CHECK (seconds >= 0),
  incidents bigint NOT NULL,
  PRIMARY KEY (region, step, seconds)
) WITH (fillfactor = 80);

-- Their partials, written by an analytics engine and merged with the others in the run's transaction
-- (see 001_init: plain, a key may repeat, UNLOGGED).
CREATE UNLOGGED TABLE partial_incident_totals (
  run_id    text NOT NULL,
  region    text NOT NULL,
  outcome   text NOT NULL,
  incidents bigint NOT NULL
);

CREATE UNLOGGED TABLE partial_response_histogram (
  run_id    text NOT NULL,
  region    text NOT NULL,
  step      text NOT NULL,
  seconds   bigint NOT NULL,
  incidents bigint NOT NULL
);
