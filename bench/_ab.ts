import { benchIngest } from './ingest.js'
const r = await benchIngest({ connections: [1, 4], shape: (process.env.SHAPE ?? 'light') as 'light', rounds: 4, log: false })
for (const run of r.runs) console.log(`  ${run.connections} conn: ratio ${run.ratio} (kubechanges ${run.kubechanges.eventsPerSec}, bare ${run.bare.eventsPerSec}, p99 ${run.kubechanges.p99Ms} / ${run.bare.p99Ms} ms)`)
