// tap only knows "100 % or nothing"; this keeps a real floor instead, a
// little under what the suite measured on a fresh clone (2026-11-27: lines
// 84.6 %, branches 81.8 %, functions 77.4 %). Raise the floors when coverage
// rises; never lower them to get a green run. Function counts come through
// ts-node's source maps and undercount (files with every statement covered
// show 60-70 % of functions), so their floor is lower.
import { readFileSync } from 'node:fs'

const FLOORS = { lines: 83, statements: 83, functions: 75, branches: 80 }
const summary = JSON.parse(readFileSync('.tap/report/coverage-summary.json', 'utf8')).total
let ok = true
for (const [k, floor] of Object.entries(FLOORS)) {
  const pct = summary[k].pct
  const pass = pct >= floor
  ok &&= pass
  console.log(`coverage ${k}: ${pct}% (floor ${floor}%)${pass ? '' : '  BELOW FLOOR'}`)
}
process.exit(ok ? 0 : 1)
