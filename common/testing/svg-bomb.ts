/**
 * A 4000×4000 SVG of 11 levels of `<g>`, each holding 10 `<use>` of the level below: under 3 KB, and 10¹⁰ shapes
 * for a renderer (librsvg spends tens of seconds of CPU on it before giving up).
 */
export function svgUseBomb(levels = 11, fanOut = 10): Buffer {
  let svg =
    '<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" width="4000" height="4000">' +
    '<defs><g id="l0"><rect width="4000" height="4000" fill="#f00" opacity="0.01"/></g>'
  for (let level = 1; level < levels; level++) {
    const uses = `<use xlink:href="#l${level - 1}"/>`.repeat(fanOut)
    svg += `<g id="l${level}">${uses}</g>`
  }
  svg += `</defs><use xlink:href="#l${levels - 1}"/></svg>`
  return Buffer.from(svg)
}
