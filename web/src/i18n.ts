/** English and French labels. Static text in the pages carries data-i18n="key"; the rest is rendered with t(). */
import { dispatchEn, dispatchFr } from "./i18n-dispatch.ts";

const base = {
  skip: "Skip to the dashboard",
  title: "C exam patrol dashboard",
  lang: "Français",
  langShort: "FR",
  // connection
  connConnecting: "connecting…",
  connLive: "live",
  connDown: "connection lost — reconnecting in {s} s",
  connDownNow: "connection lost — reconnecting…",
  connGap: "some alerts since the last connection are no longer kept",
  // analyzer status
  anNever: "analyzer: no run yet",
  anLast: "analyzer: last run {time} · {engine} · {ms} ms",
  anRunning: "analyzer: running since {time}",
  anFailed: "analyzer: last run failed at {time}",
  anNext: "next {time}",
  csvAria: "Download this panel as CSV",
  csvFailed: "CSV download failed: {error}",
  anOnDemand: "next: on demand",
  onDemand: "on demand",
  // freshness
  updated: "updated {ago}",
  updateFailed: "update failed ({msg}) — retrying",
  asOf: "figures as of the analyzer run of {time}",
  noRun: "no analyzer run yet",
  agoSeconds: "{n} s ago",
  agoMinutes: "{n} min ago",
  agoNow: "just now",
  // map
  mapTitle: "Failure hotspots in France",
  mapExercise: "Exercise",
  allExercises: "All exercises",
  shadeBy: "Shade regions by",
  shadeAverage: "average score",
  shadeFailures: "failures",
  shadeRate: "failure rate",
  mapAria: "Map of metropolitan France: {n} hotspots of {ex}, regions shaded by {metric}",
  mapAriaAll: "Map of metropolitan France, regions shaded by {metric}",
  pickExercise: "Choose an exercise to see where its students fail.",
  noHotspots: "No failure recorded for this exercise.",
  hotspotsOf: "Top hotspots — {ex} (threshold {th} %)",
  hotspotLine: "{failures} failures of {reports} reports ({rate})",
  compass: "N NE E SE S SW W NW",
  cell: "cell {lat}, {lon}",
  legendHotspots: "circle area: failures (max {max})",
  legendLive: "live order",
  tipReports: "{n} reports",
  tipAverage: "average score {v}",
  tipFailures: "{n} failures ({rate})",
  tipNoData: "no report analysed",
  // feed
  feedTitle: "Live deployment orders",
  feedRate: "in the last minute",
  lastOrder: "last order {ago}",
  feedOnly: "Selected exercise only",
  feedEmpty: "No deployment order yet. New ones appear here as soon as they are raised.",
  colTime: "Time",
  colStudent: "Student",
  colWho: "Student · exercise",
  colExercise: "Exercise",
  colScore: "Score / threshold",
  colRegion: "Region",
  // exercises
  exTitle: "Success rate per exercise",
  exSearch: "Search",
  exSearchPh: "exercise id…",
  exChart: "Chart",
  colReports: "Reports",
  colAverage: "Average score",
  colSuccess: "Success rate",
  colFailures: "Failures",
  colThreshold: "Threshold",
  exEmpty: "No figures yet: they appear after the analyzer's first run.",
  exNoMatch: "No exercise matches “{q}”.",
  exSelect: "Show {ex} on the map",
  sortBy: "sort by {col}",
  chartAria: "Bar chart of {metric} per exercise",
  chartThreshold: "threshold",
  // regions
  rgTitle: "Regions",
  rgScope: "ranked by {metric} — {ex}",
  colRank: "#",
  colRate: "Failure rate",
  rgUnknown: "{n} reports from outside the 13 regions (abroad or at sea).",
  // window switch
  winLegend: "Figures of",
  win_1h: "the last hour",
  win_24h: "the last 24 h",
  win_all: "all reports",
  winSince: "reports since {time}",
  winAllNote: "every report analysed",
  sinceShort: "since {time}",
  // trend
  trTitle: "Trend",
  trRegion: "Region",
  allRegions: "All regions",
  trAllExercises: "all exercises",
  trAllRegions: "all regions",
  trRange: "Range",
  trRange_hour: "last 24 hours, per hour",
  trRange_day: "last 30 days, per day",
  trScope: "{ex} · {region} · {range}",
  trAria: "Trend of {ex}, {region}, {range}: failures and success rate",
  trDescCounts: "{with} of {n} {unit} with reports: {reports} reports, {failures} failures, success rate {rate}.",
  trDescEmpty: "No report in these {n} {unit}.",
  trUnit_hour: "hours",
  trUnit_day: "days",
  trDescThreshold: "Current threshold {th} %.",
  trDescWorst: "Most failures: {n} at {time}.",
  trDescChanges: "Threshold changes: {list}.",
  trNone: "No report in this range.",
  trFailures_hour: "failures per hour (right scale)",
  trFailures_day: "failures per day (right scale)",
  trRate: "success rate (left scale)",
  trScore: "average score (left scale)",
  trThreshold: "threshold {th} %",
  trNoThreshold: "no threshold line: each exercise is judged by its own",
  trChange: "threshold change",
  trChangeTo: "→ {th} %",
  trChangeAt: "{time}: threshold → {th} %",
  trTable: "The figures as a table",
  trCol_hour: "Hour",
  trCol_day: "Day",
  trBucketTitle: "{time}: {reports} reports, {failures} failures, success rate {rate}, average score {avg}",
  trUnavailable: "Trend unavailable: {error}",
  rgSelect: "Show the trend of {region}",
  // thresholds
  thTitle: "Thresholds",
  thDefault: "Default threshold",
  thHelp: "A patrol is sent when a score is below its exercise's threshold. Changes need the operator token.",
  thRevision: "revision {n}",
  thSave: "Save",
  thRemove: "Use default",
  thAdd: "Set",
  thNewExercise: "Exercise",
  thNewValue: "Threshold %",
  thNone: "No exercise has its own threshold: the default applies to all.",
  thSaved: "Saved: {ex} → {v} %",
  thSavedDefault: "Saved: default → {v} %",
  thRemoved: "{ex} now uses the default",
  thNeedExercise: "Type an exercise id.",
  // token
  tokTitle: "Access token",
  tokHelp: "This change needs the operator token. It is kept for this tab only, until you close it.",
  tokView: "The dashboard needs a token to show the figures: the viewer token, or the operator token. It is kept for this tab only, until you close it.",
  tokOperator: "This change needs the operator token; the token held may only view.",
  tokLabel: "Token",
  tokOk: "Use token",
  tokCancel: "Cancel",
  tokRefused: "The token was refused (unknown or revoked); type it again.",
  tokForget: "Forget token",
  tokHeld: "token held for this tab",
  // runs
  runsTitle: "Analyzer",
  runsNow: "Run now",
  runsRunning: "Running…",
  runsDone: "Run finished: {rows} rows from {files} files in {ms} ms",
  colStarted: "Started",
  colEngine: "Engine",
  colFiles: "Files",
  colRows: "Rows",
  colDuration: "Duration",
  colOutcome: "Outcome",
  runsNone: "No run yet. The analyzer runs on its schedule, or now with “Run now”.",
  lastRun: "Last run",
  nextRun: "Next run",
  outcome_succeeded: "succeeded",
  outcome_failed: "failed",
  outcome_running: "running",
  footer: "Map: Natural Earth (public domain), projected with d3-geo. Everything is served by acu itself.",
};

const en = { ...base, ...dispatchEn };
export type Key = keyof typeof en;

const baseFr: Record<keyof typeof base, string> = {
  skip: "Aller au tableau de bord",
  title: "Tableau de bord des patrouilles — examen de C",
  lang: "English",
  langShort: "EN",
  connConnecting: "connexion…",
  connLive: "en direct",
  connDown: "connexion perdue — nouvel essai dans {s} s",
  connDownNow: "connexion perdue — reconnexion…",
  connGap: "certaines alertes depuis la dernière connexion ne sont plus conservées",
  anNever: "analyseur : aucun passage",
  anLast: "analyseur : dernier passage {time} · {engine} · {ms} ms",
  anRunning: "analyseur : en cours depuis {time}",
  anFailed: "analyseur : échec du passage de {time}",
  anNext: "prochain {time}",
  csvAria: "Télécharger ce panneau en CSV",
  csvFailed: "Échec du téléchargement CSV : {error}",
  anOnDemand: "prochain : à la demande",
  onDemand: "à la demande",
  updated: "mis à jour {ago}",
  updateFailed: "échec de la mise à jour ({msg}) — nouvel essai",
  asOf: "chiffres du passage de l'analyseur de {time}",
  noRun: "l'analyseur n'est pas encore passé",
  agoSeconds: "il y a {n} s",
  agoMinutes: "il y a {n} min",
  agoNow: "à l'instant",
  mapTitle: "Foyers d'échec en France",
  mapExercise: "Exercice",
  allExercises: "Tous les exercices",
  shadeBy: "Couleur des régions",
  shadeAverage: "note moyenne",
  shadeFailures: "échecs",
  shadeRate: "taux d'échec",
  mapAria: "Carte de la France métropolitaine : {n} foyers de {ex}, régions colorées selon {metric}",
  mapAriaAll: "Carte de la France métropolitaine, régions colorées selon {metric}",
  pickExercise: "Choisissez un exercice pour voir où ses candidats échouent.",
  noHotspots: "Aucun échec enregistré pour cet exercice.",
  hotspotsOf: "Principaux foyers — {ex} (seuil {th} %)",
  hotspotLine: "{failures} échecs sur {reports} rendus ({rate})",
  compass: "N NE E SE S SO O NO",
  cell: "case {lat}, {lon}",
  legendHotspots: "aire du cercle : échecs (max {max})",
  legendLive: "ordre en direct",
  tipReports: "{n} rendus",
  tipAverage: "note moyenne {v}",
  tipFailures: "{n} échecs ({rate})",
  tipNoData: "aucun rendu analysé",
  feedTitle: "Ordres de déploiement en direct",
  feedRate: "dans la dernière minute",
  lastOrder: "dernier ordre {ago}",
  feedOnly: "Exercice choisi seulement",
  feedEmpty: "Aucun ordre de déploiement pour l'instant. Les nouveaux s'affichent ici dès qu'ils sont émis.",
  colTime: "Heure",
  colStudent: "Candidat",
  colWho: "Candidat · exercice",
  colExercise: "Exercice",
  colScore: "Note / seuil",
  colRegion: "Région",
  exTitle: "Taux de réussite par exercice",
  exSearch: "Rechercher",
  exSearchPh: "identifiant…",
  exChart: "Graphique",
  colReports: "Rendus",
  colAverage: "Note moyenne",
  colSuccess: "Taux de réussite",
  colFailures: "Échecs",
  colThreshold: "Seuil",
  exEmpty: "Pas encore de chiffres : ils apparaissent après le premier passage de l'analyseur.",
  exNoMatch: "Aucun exercice ne correspond à « {q} ».",
  exSelect: "Afficher {ex} sur la carte",
  sortBy: "trier par {col}",
  chartAria: "Histogramme : {metric} par exercice",
  chartThreshold: "seuil",
  rgTitle: "Régions",
  rgScope: "classées par {metric} — {ex}",
  colRank: "n°",
  colRate: "Taux d'échec",
  rgUnknown: "{n} rendus hors des 13 régions (à l’étranger ou en mer).",
  winLegend: "Chiffres de",
  win_1h: "la dernière heure",
  win_24h: "les dernières 24 h",
  win_all: "tous les rendus",
  winSince: "rendus depuis {time}",
  winAllNote: "tous les rendus analysés",
  sinceShort: "depuis {time}",
  trTitle: "Tendance",
  trRegion: "Région",
  allRegions: "Toutes les régions",
  trAllExercises: "tous les exercices",
  trAllRegions: "toutes les régions",
  trRange: "Période",
  trRange_hour: "dernières 24 heures, par heure",
  trRange_day: "30 derniers jours, par jour",
  trScope: "{ex} · {region} · {range}",
  trAria: "Tendance de {ex}, {region}, {range} : échecs et taux de réussite",
  trDescCounts: "{with} {unit} sur {n} avec des rendus : {reports} rendus, {failures} échecs, taux de réussite {rate}.",
  trDescEmpty: "Aucun rendu sur ces {n} {unit}.",
  trUnit_hour: "heures",
  trUnit_day: "jours",
  trDescThreshold: "Seuil actuel {th} %.",
  trDescWorst: "Le plus d'échecs : {n} à {time}.",
  trDescChanges: "Changements de seuil : {list}.",
  trNone: "Aucun rendu sur cette période.",
  trFailures_hour: "échecs par heure (échelle de droite)",
  trFailures_day: "échecs par jour (échelle de droite)",
  trRate: "taux de réussite (échelle de gauche)",
  trScore: "note moyenne (échelle de gauche)",
  trThreshold: "seuil {th} %",
  trNoThreshold: "pas de ligne de seuil : chaque exercice est jugé au sien",
  trChange: "changement de seuil",
  trChangeTo: "→ {th} %",
  trChangeAt: "{time} : seuil → {th} %",
  trTable: "Les chiffres en tableau",
  trCol_hour: "Heure",
  trCol_day: "Jour",
  trBucketTitle: "{time} : {reports} rendus, {failures} échecs, taux de réussite {rate}, note moyenne {avg}",
  trUnavailable: "Tendance indisponible : {error}",
  rgSelect: "Afficher la tendance de {region}",
  thTitle: "Seuils",
  thDefault: "Seuil par défaut",
  thHelp: "Une patrouille part quand une note est sous le seuil de son exercice. Les changements demandent le jeton d'opérateur.",
  thRevision: "révision {n}",
  thSave: "Enregistrer",
  thRemove: "Seuil par défaut",
  thAdd: "Fixer",
  thNewExercise: "Exercice",
  thNewValue: "Seuil %",
  thNone: "Aucun exercice n'a de seuil propre : le seuil par défaut s'applique à tous.",
  thSaved: "Enregistré : {ex} → {v} %",
  thSavedDefault: "Enregistré : défaut → {v} %",
  thRemoved: "{ex} suit maintenant le seuil par défaut",
  thNeedExercise: "Saisissez un identifiant d'exercice.",
  tokTitle: "Jeton d'accès",
  tokHelp: "Ce changement demande le jeton d'opérateur. Il est gardé pour cet onglet seulement, jusqu'à sa fermeture.",
  tokView:
    "Le tableau de bord demande un jeton pour afficher les chiffres : le jeton de consultation, ou celui d'opérateur. Il est gardé pour cet onglet seulement, jusqu'à sa fermeture.",
  tokOperator: "Ce changement demande le jeton d'opérateur ; le jeton en mémoire permet seulement de consulter.",
  tokLabel: "Jeton",
  tokOk: "Utiliser",
  tokCancel: "Annuler",
  tokRefused: "Le jeton a été refusé (inconnu ou révoqué) ; saisissez-le de nouveau.",
  tokForget: "Oublier le jeton",
  tokHeld: "jeton gardé pour cet onglet",
  runsTitle: "Analyseur",
  runsNow: "Lancer maintenant",
  runsRunning: "En cours…",
  runsDone: "Passage terminé : {rows} lignes de {files} fichiers en {ms} ms",
  colStarted: "Début",
  colEngine: "Moteur",
  colFiles: "Fichiers",
  colRows: "Lignes",
  colDuration: "Durée",
  colOutcome: "Résultat",
  runsNone: "Aucun passage. L'analyseur passe selon son calendrier, ou tout de suite avec « Lancer maintenant ».",
  lastRun: "Dernier passage",
  nextRun: "Prochain passage",
  outcome_succeeded: "réussi",
  outcome_failed: "échoué",
  outcome_running: "en cours",
  footer: "Carte : Natural Earth (domaine public), projetée avec d3-geo. Tout est servi par acu lui-même.",
};

const fr: Record<Key, string> = { ...baseFr, ...dispatchFr };

export type Lang = "en" | "fr";
const DICTS: Record<Lang, Record<Key, string>> = { en, fr };

let lang: Lang = initialLang();

function initialLang(): Lang {
  try {
    const saved = localStorage.getItem("acu.lang");
    if (saved === "en" || saved === "fr") return saved;
  } catch {
    // Storage may be disabled: fall back on the browser's language.
  }
  return navigator.language?.toLowerCase().startsWith("fr") ? "fr" : "en";
}

export function currentLang(): Lang {
  return lang;
}

export function setLang(l: Lang): void {
  lang = l;
  try {
    localStorage.setItem("acu.lang", l);
  } catch {
    // Not kept across visits then.
  }
  document.documentElement.lang = l;
  applyStatic();
}

export function t(key: Key, vars: Record<string, string | number> = {}): string {
  return DICTS[lang][key].replace(/\{(\w+)\}/g, (_, k: string) => (k in vars ? String(vars[k]) : `{${k}}`));
}

/** Translates the static labels: data-i18n (text), data-i18n-placeholder, data-i18n-aria (aria-label). */
export function applyStatic(root: ParentNode = document): void {
  for (const el of root.querySelectorAll<HTMLElement>("[data-i18n]")) el.textContent = t(el.dataset.i18n as Key);
  for (const el of root.querySelectorAll<HTMLInputElement>("[data-i18n-placeholder]")) el.placeholder = t(el.dataset.i18nPlaceholder as Key);
  for (const el of root.querySelectorAll<HTMLElement>("[data-i18n-aria]")) el.setAttribute("aria-label", t(el.dataset.i18nAria as Key));
}

// ---- formatting in the current language ----
export const fmtInt = (n: number) => new Intl.NumberFormat(lang).format(Math.round(n));
export const fmtNum = (n: number, digits = 1) => new Intl.NumberFormat(lang, { minimumFractionDigits: digits, maximumFractionDigits: digits }).format(n);
export const fmtPct = (ratio: number, digits = 1) =>
  new Intl.NumberFormat(lang, { style: "percent", minimumFractionDigits: digits, maximumFractionDigits: digits }).format(ratio);
export const fmtTime = (iso: string | number | Date) =>
  new Date(iso).toLocaleTimeString(lang, { hour: "2-digit", minute: "2-digit", second: "2-digit", hourCycle: "h23" });
/** Hours and minutes: "14:00". */
export const fmtClock = (iso: string | number | Date) => new Date(iso).toLocaleTimeString(lang, { hour: "2-digit", minute: "2-digit", hourCycle: "h23" });
/** An instant to the minute, with the weekday when it is not today: "14:00", "Tue 14:00". */
export function fmtSince(iso: string | number | Date, now: number = Date.now()): string {
  const d = new Date(iso);
  if (d.toDateString() === new Date(now).toDateString()) return fmtClock(d);
  return d.toLocaleString(lang, { weekday: "short", hour: "2-digit", minute: "2-digit", hourCycle: "h23" });
}
/** A trend bucket's start: its hour with the weekday ("Tue 14:00"), or its UTC day ("Tue 12 Mar"). */
export function fmtBucket(iso: string, bucket: "hour" | "day"): string {
  const d = new Date(iso);
  return bucket === "hour"
    ? d.toLocaleString(lang, { weekday: "short", hour: "2-digit", minute: "2-digit", hourCycle: "h23" })
    : d.toLocaleDateString(lang, { weekday: "short", day: "numeric", month: "short", timeZone: "UTC" });
}
/** A time axis label: the hour ("14:00") or the UTC day ("12 Mar"). */
export function fmtAxis(iso: string, bucket: "hour" | "day"): string {
  const d = new Date(iso);
  return bucket === "hour" ? fmtClock(d) : d.toLocaleDateString(lang, { day: "numeric", month: "short", timeZone: "UTC" });
}

/** A duration in seconds, compact: "45 s", "3 min 05 s", "1 h 02 min". */
export function fmtDuration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  const pad = (n: number) => String(n).padStart(2, "0");
  if (s < 60) return t("durS", { s });
  if (s < 3600) return t("durM", { m: Math.floor(s / 60), s: pad(s % 60) });
  return t("durH", { h: Math.floor(s / 3600), m: pad(Math.floor((s % 3600) / 60)) });
}

export function ago(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 2) return t("agoNow");
  if (s < 120) return t("agoSeconds", { n: s });
  return t("agoMinutes", { n: Math.round(s / 60) });
}
