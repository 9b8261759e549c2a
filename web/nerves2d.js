// The nerves as a small voxel overlay, for the 2D views. A tube that crosses a slice is seen edge-on
// there (NiiVue draws meshes within a slab around the slice), so a nerve running cranio-caudally all
// but vanishes from the axial view; painted into a volume it shows as a disc in every view, coloured
// by its distance to the tumour like the tube. Built in the browser from report.json; RAS mm.

const SPACING_MM = 0.6
// Value per voxel: 2 + distance × 10 (0.1 mm steps, capped at 25 mm); 0 = no nerve. cal_min 1.5 keeps
// contact (value 2) above the transparent floor.
export const NERVE_CAL = { cal_min: 1.5, cal_max: 2 + 20 * 10 }
export const NO_DISTANCE_VALUE = 2 + 20 * 10 // nerves of a case without a tumour: one colour

// pieces: [{points: [[x,y,z] RAS], distances: [mm | null]}]; radius in mm.
export function nerveVolumeNifti (pieces, radius) {
  const all = pieces.flatMap(p => p.points)
  if (!all.length) return null
  const pad = radius + 2 * SPACING_MM
  const lo = [0, 1, 2].map(a => Math.min(...all.map(p => p[a])) - pad)
  const hi = [0, 1, 2].map(a => Math.max(...all.map(p => p[a])) + pad)
  const dims = [0, 1, 2].map(a => Math.ceil((hi[a] - lo[a]) / SPACING_MM) + 1)
  const data = new Uint8Array(dims[0] * dims[1] * dims[2])
  const r = Math.ceil(radius / SPACING_MM)
  const paint = (c, value) => {
    const ci = [0, 1, 2].map(a => Math.round((c[a] - lo[a]) / SPACING_MM))
    for (let k = -r; k <= r; k++) {
      for (let j = -r; j <= r; j++) {
        for (let i = -r; i <= r; i++) {
          const x = ci[0] + i; const y = ci[1] + j; const z = ci[2] + k
          if (x < 0 || y < 0 || z < 0 || x >= dims[0] || y >= dims[1] || z >= dims[2]) continue
          const dx = lo[0] + x * SPACING_MM - c[0]
          const dy = lo[1] + y * SPACING_MM - c[1]
          const dz = lo[2] + z * SPACING_MM - c[2]
          if (dx * dx + dy * dy + dz * dz > radius * radius) continue
          const o = x + dims[0] * (y + dims[1] * z)
          // where nerves overlap, the one nearer the tumour shows
          if (data[o] === 0 || value < data[o]) data[o] = value
        }
      }
    }
  }
  for (const p of pieces) {
    for (let n = 0; n < p.points.length; n++) {
      const d = p.distances ? p.distances[n] : null
      const value = d === null || d === undefined ? NO_DISTANCE_VALUE : 2 + Math.round(Math.min(d, 25) * 10)
      paint(p.points[n], Math.min(value, 255))
      // path points are ≤ 1 mm apart: fill between them so the disc never skips a slice
      if (n + 1 < p.points.length) {
        const a = p.points[n]; const b = p.points[n + 1]
        const steps = Math.ceil(Math.hypot(b[0] - a[0], b[1] - a[1], b[2] - a[2]) / (SPACING_MM / 2))
        for (let s = 1; s < steps; s++) {
          const t = s / steps
          paint([a[0] + t * (b[0] - a[0]), a[1] + t * (b[1] - a[1]), a[2] + t * (b[2] - a[2])], Math.min(value, 255))
        }
      }
    }
  }
  return niftiBytes(dims, lo, data)
}

// A NIfTI-1 file (uint8, sform = RAS grid) in memory.
function niftiBytes (dims, origin, data) {
  const buffer = new ArrayBuffer(352 + data.length)
  const v = new DataView(buffer)
  v.setInt32(0, 348, true)
  const dim = [3, dims[0], dims[1], dims[2], 1, 1, 1, 1]
  dim.forEach((d, i) => v.setInt16(40 + 2 * i, d, true))
  v.setInt16(70, 2, true) // datatype uint8
  v.setInt16(72, 8, true) // bitpix
  const pixdim = [1, SPACING_MM, SPACING_MM, SPACING_MM, 1, 1, 1, 1]
  pixdim.forEach((p, i) => v.setFloat32(76 + 4 * i, p, true))
  v.setFloat32(108, 352, true) // vox_offset
  v.setFloat32(112, 1, true) // scl_slope
  v.setInt16(254, 1, true) // sform_code: scanner (RAS)
  const rows = [[SPACING_MM, 0, 0, origin[0]], [0, SPACING_MM, 0, origin[1]], [0, 0, SPACING_MM, origin[2]]]
  rows.forEach((row, r) => row.forEach((x, c) => v.setFloat32(280 + 16 * r + 4 * c, x, true)))
  new Uint8Array(buffer, 344, 4).set([0x6e, 0x2b, 0x31, 0]) // "n+1\0"
  new Uint8Array(buffer, 352).set(data)
  return buffer
}
