import t from 'tap'
import { Cluster, USERS } from '../../helpers/cluster.js'
import { knativeService } from '../../helpers/custom-resources.js'
import { statusRuleFor, type StatusResult } from '../../../src/detectors/status/index.js'

// Knative Serving's Service (knative/serving pkg/apis/serving/v1/service_lifecycle.go:
// IsReady = observedGeneration == generation && Ready=True; IsFailed = the same with Ready=False).

const rule = statusRuleFor('Service', 'serving.knative.dev', {}, 'services')
const judge = (objects: any[], generation = 1): StatusResult[] => objects.map(object => rule.evaluate({ object, generation }))

t.test('a Knative Service becomes Ready with its revision', async t => {
  const p = knativeService(new Cluster(), USERS.alice, 'shop', 'hello', 'ghcr.io/knative/helloworld-go:latest')
  t.equal(rule.name, 'serving.knative.dev/Service')
  t.same(judge([p.created, ...p.statuses]), [
    { state: 'waiting', reason: 'LatestGenerationNotObserved', message: 'generation 1, observed none' },
    { state: 'waiting', reason: 'RevisionMissing', message: 'Configuration "hello" is waiting for a Revision to become ready.' },
    { state: 'succeeded', reason: 'Ready', message: 'revision hello-00001 at http://hello.shop.example.com' }
  ])
})

t.test('RevisionFailed', async t => {
  const p = knativeService(new Cluster(), USERS.alice, 'shop', 'hello', 'example.com/none:1', 'failed')
  const [r] = judge(p.statuses.slice(-1))
  t.equal(r!.state, 'failed')
  t.equal(r!.reason, 'RevisionFailed')
  t.match(r!.message, /^Revision "hello-00001" failed with message: Unable to fetch image "example.com\/none:1"/)
  t.equal(judge(p.statuses.slice(-1), 2)[0]!.state, 'waiting', 'a failure of generation 1 is not the outcome of generation 2')
  t.equal(statusRuleFor('Service', '', {}).name, 'generic', 'a core Service is not a Knative Service')
})
