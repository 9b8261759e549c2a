// Tube geometry around a polyline with a radius per point: the nerves' 95 % corridors, which NiiVue's
// fibre tubes (one radius per tract) cannot draw. Returns vertices and triangles for an NVMesh.
const SIDES = 16

function sub (a, b) { return [a[0] - b[0], a[1] - b[1], a[2] - b[2]] }
function cross (a, b) { return [a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]] }
function norm (a) {
  const l = Math.hypot(a[0], a[1], a[2]) || 1
  return [a[0] / l, a[1] / l, a[2] / l]
}

// points: [[x,y,z], ...] (mm, the viewer's RAS), radii: one per point. Several tubes may be appended.
export function appendTube (geometry, points, radii) {
  if (points.length < 2) return geometry
  const { positions, triangles } = geometry
  const first = positions.length / 3
  // A frame carried along the line (parallel transport) so the tube does not twist.
  let tangent = norm(sub(points[1], points[0]))
  let normal = norm(cross(tangent, Math.abs(tangent[2]) < 0.9 ? [0, 0, 1] : [1, 0, 0]))
  for (let i = 0; i < points.length; i++) {
    const next = points[Math.min(i + 1, points.length - 1)]
    const prev = points[Math.max(i - 1, 0)]
    const t = norm(sub(next, prev))
    // re-project the previous normal onto the plane perpendicular to the new tangent
    const d = normal[0] * t[0] + normal[1] * t[1] + normal[2] * t[2]
    normal = norm([normal[0] - d * t[0], normal[1] - d * t[1], normal[2] - d * t[2]])
    tangent = t
    const binormal = cross(tangent, normal)
    const r = radii[i]
    for (let s = 0; s < SIDES; s++) {
      const a = (2 * Math.PI * s) / SIDES
      const c = Math.cos(a) * r
      const sn = Math.sin(a) * r
      positions.push(points[i][0] + c * normal[0] + sn * binormal[0],
        points[i][1] + c * normal[1] + sn * binormal[1],
        points[i][2] + c * normal[2] + sn * binormal[2])
    }
  }
  for (let i = 0; i + 1 < points.length; i++) {
    for (let s = 0; s < SIDES; s++) {
      const a = first + i * SIDES + s
      const b = first + i * SIDES + ((s + 1) % SIDES)
      const c = a + SIDES
      const d = b + SIDES
      triangles.push(a, c, b, b, c, d)
    }
  }
  // caps, so the tube is closed
  const capStart = positions.length / 3
  positions.push(...points[0])
  const capEnd = capStart + 1
  positions.push(...points[points.length - 1])
  const last = first + (points.length - 1) * SIDES
  for (let s = 0; s < SIDES; s++) {
    triangles.push(capStart, first + ((s + 1) % SIDES), first + s)
    triangles.push(capEnd, last + s, last + ((s + 1) % SIDES))
  }
  return geometry
}
