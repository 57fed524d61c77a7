import { histogram, parsePrometheusText } from "./prometheus-text.js";

describe("the test's Prometheus text parser", () => {
  it("parses families, labels with escapes, and histograms", () => {
    const f = parsePrometheusText(
      [
        "# HELP req_total Requests.",
        "# TYPE req_total counter",
        'req_total{code="OK",path="a\\"b\\\\c\\nd"} 3',
        "# TYPE h histogram",
        'h_bucket{m="x",le="1"} 1',
        'h_bucket{m="x",le="+Inf"} 2',
        'h_sum{m="x"} 2.5',
        'h_count{m="x"} 2',
        "",
      ].join("\n"),
    );
    expect(f.get("req_total")).toEqual({
      name: "req_total",
      help: "Requests.",
      type: "counter",
      samples: [{ name: "req_total", labels: { code: "OK", path: 'a"b\\c\nd' }, value: 3 }],
    });
    expect(histogram(f.get("h")!, { m: "x" })).toEqual({
      buckets: new Map([
        [1, 1],
        [Infinity, 2],
      ]),
      count: 2,
      sum: 2.5,
    });
  });

  it.each([
    ["a sample without TYPE", "x 1\n", /has no # TYPE/],
    ["a duplicate series", '# TYPE x gauge\nx{a="1"} 1\nx{a="1"} 2\n', /duplicate series/],
    ["a bad value", "# TYPE x gauge\nx one\n", /bad value/],
    ["an unquoted label", "# TYPE x gauge\nx{a=1} 1\n", /not quoted/],
    ["a negative counter", "# TYPE x counter\nx -1\n", /counter x is -1/],
    [
      "buckets that shrink",
      '# TYPE h histogram\nh_bucket{le="1"} 2\nh_bucket{le="+Inf"} 1\nh_count 1\nh_sum 0\n',
      /not cumulative/,
    ],
    ["a count unlike +Inf", '# TYPE h histogram\nh_bucket{le="+Inf"} 1\nh_count 2\nh_sum 0\n', /_count 2/],
    ["no final newline", "# TYPE x gauge\nx 1", /newline/],
  ])("refuses %s", (_what, text, error) => {
    expect(() => parsePrometheusText(text)).toThrow(error);
  });
});
