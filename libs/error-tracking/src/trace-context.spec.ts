import { incomingTrace } from './trace-context';

const TRACE = '0af7651916cd43dd8448eb211c80319c';
const SPAN = 'b7ad6b7169203331';

describe('incomingTrace', () => {
  it.each([
    ['a W3C traceparent, sampled', { traceparent: `00-${TRACE}-${SPAN}-01` }, true],
    ['a W3C traceparent, not sampled', { traceparent: `00-${TRACE}-${SPAN}-00` }, false],
    [
      'a W3C traceparent with tracestate',
      { traceparent: `00-${TRACE}-${SPAN}-01`, tracestate: 'vendor=x' },
      true,
    ],
    ['a sentry-trace, sampled', { 'sentry-trace': `${TRACE}-${SPAN}-1` }, true],
    ['a sentry-trace without a decision', { 'sentry-trace': `${TRACE}-${SPAN}` }, undefined],
  ])('continues %s', (_name, headers, sampled) => {
    expect(incomingTrace(headers)).toEqual({ traceId: TRACE, parentSpanId: SPAN, sampled });
  });

  it('prefers sentry-trace to traceparent (it comes with the Sentry sampling context in baggage)', () => {
    const other = 'f'.repeat(32);
    expect(
      incomingTrace({ 'sentry-trace': `${TRACE}-${SPAN}-0`, traceparent: `00-${other}-${SPAN}-01` }),
    ).toEqual({ traceId: TRACE, parentSpanId: SPAN, sampled: false });
  });

  it.each([
    ['nothing', {}],
    ['an all-zero trace id', { traceparent: `00-${'0'.repeat(32)}-${SPAN}-01` }],
    ['an all-zero span id', { traceparent: `00-${TRACE}-${'0'.repeat(16)}-01` }],
    ['version ff', { traceparent: `ff-${TRACE}-${SPAN}-01` }],
    ['a short trace id', { traceparent: `00-${TRACE.slice(1)}-${SPAN}-01` }],
    ['upper-case hex', { traceparent: `00-${TRACE.toUpperCase()}-${SPAN}-01` }],
    ['a header sent twice', { traceparent: [`00-${TRACE}-${SPAN}-01`, `00-${TRACE}-${SPAN}-01`] }],
    ['a sentry-trace without a span', { 'sentry-trace': TRACE }],
    ['garbage', { 'sentry-trace': 'x', traceparent: 'y' }],
  ])('starts a new trace for %s', (_name, headers) => {
    expect(incomingTrace(headers)).toBeUndefined();
  });
});
