package server

import (
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// metricPrefix starts the name of every metric of the origin.
const metricPrefix = "edge_sse_origin_"

// The origin's metrics. Counters count from the start of the process;
// published and delivered count this process's share only when several
// origins share a Redis history.
var (
	descSubscribers   = desc("subscribers", "Open subscriptions (edge feeds not counted).")
	descPublished     = desc("published_events_total", "Updates stored through this origin.")
	descDelivered     = desc("delivered_events_total", "Events queued to subscribers and edge feeds.")
	descDropped       = desc("dropped_events_total", "Events queued for a subscriber but discarded because its stream ended first (slow consumer, disconnect, token expiry).")
	descSlow          = desc("slow_consumer_disconnects_total", "Subscribers and edge feeds disconnected for not keeping up: their queue filled up, or a write to them blocked for the write timeout.")
	descHistoryGaps   = desc("history_gaps_total", "Times events of a shared history were trimmed before this origin read them, dropping every subscriber.")
	descHistory       = desc("history_events", "Events held by the history for resume.")
	descFeeds         = desc("edge_feeds", "Open live edge feeds.")
	descFeedsOpened   = desc("edge_feeds_opened_total", "Live edge feeds opened.")
	descFeedCatchUps  = desc("edge_feed_catchups_total", "Bounded catch-up edge feed requests served.")
	hubMetricSnapshot = []*prometheus.Desc{descSubscribers, descPublished, descDelivered, descDropped, descSlow, descHistoryGaps, descHistory, descFeeds, descFeedsOpened, descFeedCatchUps}
)

func desc(name, help string) *prometheus.Desc {
	return prometheus.NewDesc(metricPrefix+name, help, nil, nil)
}

// collector reports the hub's and the server's counters at scrape time,
// reading hub.Stats once per scrape (with a Redis history, Stats costs a
// round trip).
type collector struct{ s *Server }

// Describe implements prometheus.Collector.
func (c collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range hubMetricSnapshot {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (c collector) Collect(ch chan<- prometheus.Metric) {
	st := c.s.hub.Stats()
	gauge := func(d *prometheus.Desc, v float64) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v)
	}
	counter := func(d *prometheus.Desc, v uint64) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v))
	}
	gauge(descSubscribers, float64(c.s.streams.Load()))
	counter(descPublished, st.Published)
	counter(descDelivered, st.Delivered)
	counter(descDropped, c.s.dropped.Load())
	counter(descSlow, st.SlowDrops+c.s.stalled.Load())
	counter(descHistoryGaps, st.Lost)
	gauge(descHistory, float64(st.History))
	gauge(descFeeds, float64(c.s.feeds.Load()))
	counter(descFeedsOpened, c.s.feedsOpened.Load())
	counter(descFeedCatchUps, c.s.catchUps.Load())
}

// newRegistry returns a registry with the origin's metrics and the Go
// runtime and process collectors.
func newRegistry(s *Server) *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collector{s}, collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	if s.tracker != nil {
		reg.MustRegister(presenceCollector{s})
	}
	return reg
}

// metricsHandler serves the registry in the Prometheus exposition formats.
func (s *Server) metricsHandler() http.Handler {
	return promhttp.HandlerFor(s.registry, promhttp.HandlerOpts{ErrorLog: slogErrorLog{s}})
}

// slogErrorLog adapts the server's logger to promhttp.Logger.
type slogErrorLog struct{ s *Server }

func (l slogErrorLog) Println(v ...any) { l.s.cfg.Logger.Error("metrics", "err", v) }

// The metrics of Active Subscriptions, registered when they are on.
var (
	descPresenceReports    = desc("presence_reports_total", "Presence reports applied or refused (edge hubs' and this origin's own).")
	descPresenceResyncs    = desc("presence_resyncs_total", "Presence reports answered with a resync (409).")
	descPresenceEvents     = desc("presence_events_total", "Subscription events published by this origin.")
	descPresenceErrors     = desc("presence_publish_errors_total", "Subscription events that could not be published (lost; the index holds the change).")
	descPresenceExpired    = desc("presence_expired_instances_total", "Hub instances whose lease lapsed and whose subscriptions this origin ended.")
	presenceMetricSnapshot = []*prometheus.Desc{descPresenceReports, descPresenceResyncs, descPresenceEvents, descPresenceErrors, descPresenceExpired}
)

// presenceCollector reports the Tracker's counters.
type presenceCollector struct{ s *Server }

// Describe implements prometheus.Collector.
func (c presenceCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range presenceMetricSnapshot {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (c presenceCollector) Collect(ch chan<- prometheus.Metric) {
	st := &c.s.tracker.Stats
	for d, v := range map[*prometheus.Desc]uint64{
		descPresenceReports: st.Reports.Load(), descPresenceResyncs: st.Resyncs.Load(), descPresenceEvents: st.Events.Load(),
		descPresenceErrors: st.PublishErrors.Load(), descPresenceExpired: st.Expired.Load(),
	} {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v))
	}
}
