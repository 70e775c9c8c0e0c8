/**
 * Bundled catalogue of French metropolitan cities, and a point's place name (its nearest city).
 * Hand-written data (no lookup service). A report's region comes from the map: src/domain/region-index.ts.
 */

export const REGIONS = [
  "Auvergne-Rhône-Alpes",
  "Bourgogne-Franche-Comté",
  "Bretagne",
  "Centre-Val de Loire",
  "Corse",
  "Grand Est",
  "Hauts-de-France",
  "Île-de-France",
  "Normandie",
  "Nouvelle-Aquitaine",
  "Occitanie",
  "Pays de la Loire",
  "Provence-Alpes-Côte d'Azur",
] as const;

export type RegionName = (typeof REGIONS)[number];

/** Not a place: a non-finite point, or a report placed before regions came from the map (then: no catalogue city within 60 km). */
export const UNKNOWN_REGION = "unknown";
/** Outside every region of the map (src/domain/region-index.ts). */
export const ABROAD_REGION = "abroad";
/** A place name (feed, hotspots) is the nearest catalogue city within this distance. */
export const PLACE_RADIUS_KM = 60;

export interface City {
  readonly name: string;
  readonly region: RegionName;
  readonly latitude: number;
  readonly longitude: number;
  /** Approximate commune population; used to weight synthetic traffic. */
  readonly population: number;
}

// [name, latitude, longitude, population], grouped by region.
type Row = readonly [string, number, number, number];

const BY_REGION: Readonly<Record<RegionName, readonly Row[]>> = {
  "Auvergne-Rhône-Alpes": [
    ["Lyon", 45.764, 4.8357, 522_000],
    ["Saint-Étienne", 45.4397, 4.3872, 173_000],
    ["Grenoble", 45.1885, 5.7245, 158_000],
    ["Villeurbanne", 45.7719, 4.8902, 150_000],
    ["Clermont-Ferrand", 45.7772, 3.087, 147_000],
    ["Annecy", 45.8992, 6.1294, 130_000],
    ["Valence", 44.9334, 4.8924, 64_000],
    ["Chambéry", 45.5646, 5.9178, 59_000],
    ["Bourg-en-Bresse", 46.2052, 5.2255, 41_000],
    ["Montélimar", 44.5581, 4.7509, 40_000],
    ["Annemasse", 46.1934, 6.2342, 37_000],
    ["Thonon-les-Bains", 46.3705, 6.4793, 36_000],
    ["Roanne", 46.0342, 4.0726, 34_000],
    ["Montluçon", 46.3401, 2.6035, 34_000],
    ["Vienne", 45.5256, 4.8744, 30_000],
    ["Vichy", 46.1277, 3.4263, 25_000],
    ["Aurillac", 44.9264, 2.4397, 25_000],
    ["Moulins", 46.5646, 3.3326, 19_000],
    ["Le Puy-en-Velay", 45.0434, 3.8851, 19_000],
    ["Albertville", 45.6758, 6.3925, 19_000],
    ["Aubenas", 44.62, 4.3903, 12_000],
    ["Privas", 44.7353, 4.5994, 8_000],
  ],
  "Bourgogne-Franche-Comté": [
    ["Dijon", 47.322, 5.0415, 159_000],
    ["Besançon", 47.2378, 6.0241, 119_000],
    ["Belfort", 47.6397, 6.8638, 47_000],
    ["Chalon-sur-Saône", 46.7806, 4.8539, 45_000],
    ["Auxerre", 47.7982, 3.5673, 34_000],
    ["Mâcon", 46.3069, 4.8287, 34_000],
    ["Nevers", 46.9908, 3.159, 33_000],
    ["Sens", 48.1975, 3.2835, 27_000],
    ["Montbéliard", 47.51, 6.798, 25_000],
    ["Dole", 47.0925, 5.4897, 23_000],
    ["Le Creusot", 46.8008, 4.4264, 21_000],
    ["Lons-le-Saunier", 46.6745, 5.5547, 17_000],
    ["Pontarlier", 46.9042, 6.3548, 17_000],
    ["Vesoul", 47.6197, 6.1544, 15_000],
  ],
  Bretagne: [
    ["Rennes", 48.1173, -1.6778, 222_000],
    ["Brest", 48.3904, -4.4861, 140_000],
    ["Quimper", 47.996, -4.1024, 63_000],
    ["Lorient", 47.7483, -3.37, 57_000],
    ["Vannes", 47.6582, -2.7608, 54_000],
    ["Saint-Malo", 48.6493, -2.0257, 47_000],
    ["Saint-Brieuc", 48.5136, -2.7653, 44_000],
    ["Lannion", 48.7326, -3.4566, 20_000],
    ["Fougères", 48.3524, -1.199, 20_000],
    ["Vitré", 48.1238, -1.209, 18_000],
    ["Morlaix", 48.5777, -3.8279, 15_000],
    ["Pontivy", 48.0687, -2.9634, 15_000],
  ],
  "Centre-Val de Loire": [
    ["Tours", 47.3941, 0.6848, 136_000],
    ["Orléans", 47.903, 1.9093, 116_000],
    ["Bourges", 47.081, 2.3988, 64_000],
    ["Blois", 47.5861, 1.3359, 46_000],
    ["Châteauroux", 46.8103, 1.6913, 43_000],
    ["Chartres", 48.4439, 1.489, 38_000],
    ["Dreux", 48.737, 1.3664, 31_000],
    ["Vierzon", 47.222, 2.0689, 26_000],
    ["Romorantin-Lanthenay", 47.3581, 1.7413, 17_000],
    ["Vendôme", 47.7931, 1.0664, 16_000],
    ["Montargis", 47.9975, 2.733, 15_000],
    ["Chinon", 47.1675, 0.2425, 8_000],
  ],
  Corse: [
    ["Ajaccio", 41.9192, 8.7386, 73_000],
    ["Bastia", 42.6977, 9.4508, 48_000],
    ["Porto-Vecchio", 41.5911, 9.2795, 12_000],
    ["Corte", 42.3061, 9.15, 8_000],
    ["Calvi", 42.5679, 8.7572, 6_000],
    ["Ghisonaccia", 42.0158, 9.4049, 4_000],
    ["Propriano", 41.6757, 8.9044, 3_500],
    ["Sartène", 41.6216, 8.9747, 3_500],
    ["Bonifacio", 41.3875, 9.1594, 3_000],
    ["L'Île-Rousse", 42.6337, 8.9377, 3_000],
  ],
  "Grand Est": [
    ["Strasbourg", 48.5734, 7.7521, 287_000],
    ["Reims", 49.2583, 4.0317, 180_000],
    ["Metz", 49.1193, 6.1757, 120_000],
    ["Mulhouse", 47.7508, 7.3359, 108_000],
    ["Nancy", 48.6921, 6.1844, 104_000],
    ["Colmar", 48.0794, 7.3585, 67_000],
    ["Troyes", 48.2973, 4.0744, 61_000],
    ["Charleville-Mézières", 49.762, 4.7262, 46_000],
    ["Châlons-en-Champagne", 48.9566, 4.3631, 44_000],
    ["Thionville", 49.3579, 6.1684, 41_000],
    ["Haguenau", 48.8156, 7.7906, 35_000],
    ["Épinal", 48.1724, 6.4496, 31_000],
    ["Saint-Dizier", 48.6383, 4.9497, 23_000],
    ["Épernay", 49.0431, 3.956, 22_000],
    ["Chaumont", 48.1113, 5.1392, 22_000],
    ["Forbach", 49.1883, 6.8967, 21_000],
    ["Sarreguemines", 49.1099, 7.0684, 21_000],
    ["Saint-Dié-des-Vosges", 48.2849, 6.9492, 19_000],
    ["Verdun", 49.1598, 5.3844, 17_000],
    ["Bar-le-Duc", 48.7727, 5.1606, 15_000],
  ],
  "Hauts-de-France": [
    ["Lille", 50.6292, 3.0573, 236_000],
    ["Amiens", 49.8941, 2.2958, 134_000],
    ["Roubaix", 50.6942, 3.1746, 98_000],
    ["Tourcoing", 50.7239, 3.1612, 98_000],
    ["Dunkerque", 51.0344, 2.3768, 87_000],
    ["Calais", 50.9513, 1.8587, 67_000],
    ["Villeneuve-d'Ascq", 50.6233, 3.145, 62_000],
    ["Beauvais", 49.4295, 2.0807, 56_000],
    ["Saint-Quentin", 49.8465, 3.2876, 53_000],
    ["Valenciennes", 50.357, 3.5235, 43_000],
    ["Arras", 50.291, 2.7775, 41_000],
    ["Compiègne", 49.4179, 2.8261, 41_000],
    ["Boulogne-sur-Mer", 50.7264, 1.6147, 40_000],
    ["Douai", 50.3714, 3.08, 39_000],
    ["Creil", 49.2597, 2.4744, 36_000],
    ["Lens", 50.432, 2.8333, 32_000],
    ["Cambrai", 50.176, 3.2345, 32_000],
    ["Maubeuge", 50.2775, 3.9727, 29_000],
    ["Soissons", 49.3817, 3.3236, 28_000],
    ["Laon", 49.5641, 3.6199, 24_000],
    ["Abbeville", 50.1054, 1.8332, 23_000],
  ],
  "Île-de-France": [
    ["Paris", 48.8566, 2.3522, 2_100_000],
    ["Boulogne-Billancourt", 48.8352, 2.241, 121_000],
    ["Saint-Denis", 48.9362, 2.3574, 113_000],
    ["Argenteuil", 48.9472, 2.2467, 111_000],
    ["Montreuil", 48.8638, 2.4485, 111_000],
    ["Nanterre", 48.8924, 2.2069, 96_000],
    ["Vitry-sur-Seine", 48.7875, 2.3928, 95_000],
    ["Créteil", 48.7904, 2.4556, 92_000],
    ["Aubervilliers", 48.9146, 2.3821, 88_000],
    ["Colombes", 48.9226, 2.2522, 86_000],
    ["Aulnay-sous-Bois", 48.9386, 2.4973, 86_000],
    ["Versailles", 48.8049, 2.1204, 84_000],
    ["Courbevoie", 48.8973, 2.2522, 82_000],
    ["Rueil-Malmaison", 48.8778, 2.1803, 79_000],
    ["Champigny-sur-Marne", 48.8172, 2.5156, 77_000],
    ["Saint-Maur-des-Fossés", 48.7994, 2.4997, 75_000],
    ["Évry-Courcouronnes", 48.6239, 2.4294, 67_000],
    ["Cergy", 49.0364, 2.0761, 66_000],
    ["Meaux", 48.9601, 2.8788, 56_000],
    ["Mantes-la-Jolie", 48.9908, 1.7172, 44_000],
    ["Melun", 48.542, 2.6554, 41_000],
    ["Étampes", 48.4343, 2.1615, 25_000],
    ["Fontainebleau", 48.4047, 2.7016, 15_000],
    ["Provins", 48.56, 3.2995, 12_000],
  ],
  Normandie: [
    ["Le Havre", 49.4944, 0.1079, 166_000],
    ["Rouen", 49.4432, 1.0999, 114_000],
    ["Caen", 49.1829, -0.3707, 106_000],
    ["Cherbourg-en-Cotentin", 49.6337, -1.6222, 78_000],
    ["Évreux", 49.027, 1.1508, 47_000],
    ["Dieppe", 49.9229, 1.0775, 28_000],
    ["Alençon", 48.4329, 0.0913, 26_000],
    ["Vernon", 49.0925, 1.4847, 24_000],
    ["Lisieux", 49.1466, 0.2256, 20_000],
    ["Saint-Lô", 49.1157, -1.0906, 19_000],
    ["Fécamp", 49.7578, 0.3747, 18_000],
    ["Argentan", 48.7443, -0.0203, 13_000],
    ["Granville", 48.8378, -1.5972, 13_000],
    ["Bayeux", 49.2765, -0.7025, 13_000],
    ["Avranches", 48.6844, -1.3569, 10_000],
  ],
  "Nouvelle-Aquitaine": [
    ["Bordeaux", 44.8378, -0.5792, 260_000],
    ["Limoges", 45.8336, 1.2611, 130_000],
    ["Poitiers", 46.5802, 0.3404, 89_000],
    ["La Rochelle", 46.1603, -1.1511, 77_000],
    ["Pau", 43.2951, -0.3708, 76_000],
    ["Mérignac", 44.8386, -0.6436, 72_000],
    ["Pessac", 44.8067, -0.6311, 66_000],
    ["Niort", 46.3237, -0.4588, 59_000],
    ["Bayonne", 43.4929, -1.4748, 52_000],
    ["Brive-la-Gaillarde", 45.1589, 1.5331, 46_000],
    ["Angoulême", 45.6484, 0.1562, 42_000],
    ["Agen", 44.2033, 0.6163, 33_000],
    ["Châtellerault", 46.8178, 0.5461, 31_000],
    ["Périgueux", 45.1839, 0.7212, 30_000],
    ["Mont-de-Marsan", 43.8902, -0.4994, 30_000],
    ["Bergerac", 44.8533, 0.4833, 26_000],
    ["Biarritz", 43.4832, -1.5586, 25_000],
    ["Saintes", 45.7464, -0.6339, 25_000],
    ["Rochefort", 45.9421, -0.9588, 24_000],
    ["Villeneuve-sur-Lot", 44.4081, 0.7047, 22_000],
    ["Dax", 43.7102, -1.0536, 21_000],
    ["Bressuire", 46.8403, -0.4886, 19_000],
    ["Cognac", 45.6958, -0.3292, 18_000],
    ["Marmande", 44.5003, 0.1653, 18_000],
    ["Tulle", 45.2672, 1.77, 15_000],
    ["Guéret", 46.1714, 1.8719, 13_000],
    ["Arcachon", 44.6586, -1.1689, 11_000],
    ["Oloron-Sainte-Marie", 43.1944, -0.6067, 10_000],
    ["Sarlat-la-Canéda", 44.8897, 1.2164, 9_000],
  ],
  Occitanie: [
    ["Toulouse", 43.6047, 1.4442, 500_000],
    ["Montpellier", 43.6108, 3.8767, 300_000],
    ["Nîmes", 43.8367, 4.3601, 149_000],
    ["Perpignan", 42.6887, 2.8948, 120_000],
    ["Béziers", 43.3442, 3.2158, 79_000],
    ["Montauban", 44.0176, 1.355, 62_000],
    ["Narbonne", 43.1839, 3.0042, 56_000],
    ["Albi", 43.9289, 2.1464, 49_000],
    ["Carcassonne", 43.213, 2.3491, 46_000],
    ["Sète", 43.4028, 3.6969, 44_000],
    ["Tarbes", 43.2328, 0.0781, 42_000],
    ["Alès", 44.125, 4.0818, 42_000],
    ["Castres", 43.606, 2.24, 42_000],
    ["Agde", 43.3108, 3.4758, 29_000],
    ["Lunel", 43.6758, 4.1358, 26_000],
    ["Rodez", 44.3506, 2.575, 25_000],
    ["Auch", 43.6465, 0.5855, 22_000],
    ["Millau", 44.0983, 3.0781, 22_000],
    ["Cahors", 44.4475, 1.4419, 20_000],
    ["Bagnols-sur-Cèze", 44.1625, 4.6195, 18_000],
    ["Pamiers", 43.1164, 1.6108, 16_000],
    ["Lourdes", 43.0947, -0.0459, 13_000],
    ["Mende", 44.518, 3.5, 12_000],
    ["Saint-Gaudens", 43.1081, 0.7234, 11_000],
    ["Foix", 42.9653, 1.6079, 10_000],
    ["Figeac", 44.6086, 2.0317, 10_000],
  ],
  "Pays de la Loire": [
    ["Nantes", 47.2184, -1.5536, 320_000],
    ["Angers", 47.4784, -0.5632, 155_000],
    ["Le Mans", 48.0061, 0.1996, 145_000],
    ["Saint-Nazaire", 47.2735, -2.2138, 72_000],
    ["La Roche-sur-Yon", 46.6705, -1.426, 55_000],
    ["Cholet", 47.0594, -0.8796, 54_000],
    ["Laval", 48.0707, -0.7734, 50_000],
    ["Saint-Herblain", 47.2122, -1.6497, 47_000],
    ["Les Sables-d'Olonne", 46.4967, -1.7831, 45_000],
    ["Saumur", 47.26, -0.0769, 26_000],
    ["Challans", 46.8467, -1.8781, 22_000],
    ["La Flèche", 47.6979, -0.0762, 15_000],
    ["Mayenne", 48.3031, -0.6136, 13_000],
    ["Fontenay-le-Comte", 46.4663, -0.8066, 13_000],
    ["Château-Gontier-sur-Mayenne", 47.8286, -0.7025, 12_000],
    ["Sablé-sur-Sarthe", 47.8393, -0.3331, 12_000],
  ],
  "Provence-Alpes-Côte d'Azur": [
    ["Marseille", 43.2965, 5.3698, 870_000],
    ["Nice", 43.7102, 7.262, 342_000],
    ["Toulon", 43.1242, 5.928, 180_000],
    ["Aix-en-Provence", 43.5297, 5.4474, 145_000],
    ["Avignon", 43.9493, 4.8055, 91_000],
    ["Cannes", 43.5528, 7.0174, 74_000],
    ["Antibes", 43.5808, 7.1239, 73_000],
    ["La Seyne-sur-Mer", 43.1007, 5.8788, 62_000],
    ["Hyères", 43.1204, 6.1286, 56_000],
    ["Fréjus", 43.433, 6.737, 54_000],
    ["Arles", 43.6766, 4.6278, 51_000],
    ["Grasse", 43.6584, 6.9225, 50_000],
    ["Martigues", 43.4053, 5.0475, 49_000],
    ["Salon-de-Provence", 43.6403, 5.0972, 45_000],
    ["Gap", 44.5594, 6.0786, 40_000],
    ["Draguignan", 43.5369, 6.4647, 40_000],
    ["Menton", 43.7747, 7.4975, 30_000],
    ["Carpentras", 44.0556, 5.0481, 29_000],
    ["Orange", 44.1381, 4.8075, 28_000],
    ["Manosque", 43.8283, 5.7864, 22_000],
    ["Digne-les-Bains", 44.0925, 6.2356, 16_000],
    ["Briançon", 44.8988, 6.6425, 11_000],
    ["Sisteron", 44.1953, 5.9436, 7_500],
    ["Barcelonnette", 44.3871, 6.6522, 2_600],
    ["Castellane", 43.8475, 6.5131, 1_500],
  ],
};

export const CITIES: readonly City[] = Object.freeze(
  REGIONS.flatMap((region) =>
    BY_REGION[region].map(([name, latitude, longitude, population]) => Object.freeze({ name, region, latitude, longitude, population })),
  ),
);

const EARTH_RADIUS_KM = 6371.0088;
const KM_PER_DEG_LAT = (Math.PI / 180) * EARTH_RADIUS_KM;
const RAD = Math.PI / 180;

/** Great-circle distance in kilometres. */
export function distanceKm(lat1: number, lon1: number, lat2: number, lon2: number): number {
  const dLat = (lat2 - lat1) * RAD;
  const dLon = (lon2 - lon1) * RAD;
  const s = Math.sin(dLat / 2) ** 2 + Math.cos(lat1 * RAD) * Math.cos(lat2 * RAD) * Math.sin(dLon / 2) ** 2;
  return 2 * EARTH_RADIUS_KM * Math.asin(Math.min(1, Math.sqrt(s)));
}

// 1° grid: a lookup inspects only the few cells its radius can reach, then
// rejects most candidates with a degree bounding box before any trigonometry.
const CITY_LAT = Float64Array.from(CITIES, (c) => c.latitude);
const CITY_LON = Float64Array.from(CITIES, (c) => c.longitude);
const cellKey = (latCell: number, lonCell: number) => (latCell + 90) * 361 + (lonCell + 180);
const GRID = new Map<number, number[]>();
CITIES.forEach((c, i) => {
  const key = cellKey(Math.floor(c.latitude), Math.floor(c.longitude));
  const cell = GRID.get(key);
  if (cell) cell.push(i);
  else GRID.set(key, [i]);
});

// Beyond this radius the grid walk costs more than scanning the whole catalogue.
const GRID_MAX_KM = 500;

/** The nearest catalogue city within maxKm of the point, or null. */
export function nearestCity(latitude: number, longitude: number, maxKm: number = PLACE_RADIUS_KM): City | null {
  if (!Number.isFinite(latitude) || !Number.isFinite(longitude) || !(maxKm >= 0)) return null;
  const i = maxKm > GRID_MAX_KM ? nearestByScan(latitude, longitude, maxKm) : nearestByGrid(latitude, longitude, maxKm);
  return i < 0 ? null : CITIES[i]!;
}

/**
 * The place name shown for a point (an incident's student): the nearest catalogue city within maxKm,
 * else UNKNOWN_REGION.
 */
export function placeOf(latitude: number, longitude: number, maxKm: number = PLACE_RADIUS_KM): string {
  return nearestCity(latitude, longitude, maxKm)?.name ?? UNKNOWN_REGION;
}

function nearestByGrid(lat: number, lon: number, maxKm: number): number {
  const dLat = maxKm / KM_PER_DEG_LAT;
  // Longitude degrees shrink towards the poles: size the box at the widest latitude it spans.
  const widestLat = Math.min(89.9, Math.abs(lat) + dLat);
  const dLon = dLat / Math.cos(widestLat * RAD);
  const lat0 = Math.floor(lat - dLat),
    lat1 = Math.floor(lat + dLat);
  const lon0 = Math.floor(lon - dLon),
    lon1 = Math.floor(lon + dLon);
  let best = -1;
  let bestKm = Infinity;
  for (let a = lat0; a <= lat1; a++) {
    for (let o = lon0; o <= lon1; o++) {
      const cell = GRID.get(cellKey(a, o));
      if (cell === undefined) continue;
      for (const i of cell) {
        const cLat = CITY_LAT[i]!,
          cLon = CITY_LON[i]!;
        if (Math.abs(cLat - lat) > dLat || Math.abs(cLon - lon) > dLon) continue;
        const km = distanceKm(lat, lon, cLat, cLon);
        if (km <= maxKm && km < bestKm) {
          bestKm = km;
          best = i;
        }
      }
    }
  }
  return best;
}

function nearestByScan(lat: number, lon: number, maxKm: number): number {
  let best = -1;
  let bestKm = Infinity;
  for (let i = 0; i < CITY_LAT.length; i++) {
    const km = distanceKm(lat, lon, CITY_LAT[i]!, CITY_LON[i]!);
    if (km <= maxKm && km < bestKm) {
      bestKm = km;
      best = i;
    }
  }
  return best;
}
