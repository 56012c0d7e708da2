/*
 * Spark Streaming's side of ember's head-to-head (compare/spark/README.md).
 *
 * The DESIGN.md word count, queueStream (one batch at a time) ->
 * flatMap(split " ") -> mapToPair(w, 1) -> reduceByKey(+) -> foreachRDD(collect),
 * on batches from the shared generator, in two scenarios:
 *   throughput: 1,000,000 words a batch, 4 s batches, 10 warm-up + 10 measured;
 *   latency:    1,000 words a batch, 200 ms batches, 100 warm-up + 100 measured.
 * A StreamingListener records each batch's processing and total delay; the
 * warm-up batches are dropped (the JIT needs that long: processing times keep
 * falling for about 10 big or 100 small batches). Every batch's collected
 * counts are checked. One line per scenario: "RESULT spark <scenario>
 * key=value ..." (and a DETAIL line with every batch's delays).
 * examples/spark_compare.rs is the same program for ember; keep the two in step.
 *
 * Run through compare/spark/run.sh (spark-submit --master local[2]).
 */

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedList;
import java.util.List;
import java.util.Map;
import java.util.Queue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import org.apache.spark.SparkConf;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.streaming.Durations;
import org.apache.spark.streaming.api.java.JavaPairDStream;
import org.apache.spark.streaming.api.java.JavaStreamingContext;
import org.apache.spark.streaming.scheduler.BatchInfo;
import org.apache.spark.streaming.scheduler.StreamingListener;
import org.apache.spark.streaming.scheduler.StreamingListenerBatchCompleted;

import scala.Tuple2;

@SuppressWarnings("deprecation") // DStreams are deprecated since Spark 3.4; they are what is compared
public final class WordCountBench {
    /** Words per generated line (DESIGN.md). */
    static final int WORDS_PER_LINE = 100;
    /** Distinct words the generator draws from (DESIGN.md). */
    static final long VOCABULARY = 10_000;

    /** One scenario: its batches' size, interval and how many batches run. */
    record Scenario(String name, long intervalMs, int linesPerBatch, int warmUp, int measured) {
        int batches() {
            return warmUp + measured;
        }

        long wordsPerBatch() {
            return (long) linesPerBatch * WORDS_PER_LINE;
        }
    }

    // 4 s: Spark needs 0.5-2 s for 1M words here once warm (2 s when the shared
    // machine is busy; the cold first batches take longer and queue). 200 ms: it
    // runs tiny batches at 100 ms only with bouts of queueing.
    static final Scenario THROUGHPUT = new Scenario("throughput", 4_000, 10_000, 10, 10);
    static final Scenario LATENCY = new Scenario("latency", 200, 10, 100, 100);

    /** Longest a scenario may run before the program gives up. */
    static final long PATIENCE_SECONDS = 600;

    /** ember::datagen::WordGenerator: the shared 64-bit LCG, seed 42. */
    static final class WordGenerator {
        private long state = 42;

        long nextId() {
            state = state * 6364136223846793005L + 1442695040888963407L; // wraps, like Rust's wrapping ops
            return Long.remainderUnsigned(state >>> 33, VOCABULARY);
        }

        String line(int words) {
            StringBuilder line = new StringBuilder(words * 6);
            for (int i = 0; i < words; i++) {
                if (i > 0) {
                    line.append(' ');
                }
                line.append('w').append(nextId());
            }
            return line.toString();
        }

        List<String> batch(int lines) {
            List<String> batch = new ArrayList<>(lines);
            for (int i = 0; i < lines; i++) {
                batch.add(line(WORDS_PER_LINE));
            }
            return batch;
        }
    }

    /** DESIGN.md's check: batch 0 has 10,000 distinct words and "w0" occurs 89 times. */
    static void checkGenerator() {
        Map<String, Integer> counts = new HashMap<>();
        for (String line : new WordGenerator().batch(10_000)) {
            for (String word : line.split(" ")) {
                counts.merge(word, 1, Integer::sum);
            }
        }
        if (counts.size() != 10_000 || counts.getOrDefault("w0", 0) != 89) {
            throw new IllegalStateException("generator check failed: " + counts.size()
                    + " distinct words, w0 occurs " + counts.get("w0") + " times");
        }
    }

    /** Checks every batch's collected counts: they add up to the batch's words. */
    static final class OutputCheck {
        private final long wordsPerBatch;
        private final boolean sharedBatchZero;
        private int index;
        private final List<String> failures = new ArrayList<>();

        OutputCheck(long wordsPerBatch, boolean sharedBatchZero) {
            this.wordsPerBatch = wordsPerBatch;
            this.sharedBatchZero = sharedBatchZero;
        }

        synchronized void accept(List<Tuple2<String, Long>> counts, int batches) {
            int batch = index++;
            if (batch >= batches) {
                return; // an empty batch after the queue ran out
            }
            long total = 0;
            long w0 = 0;
            for (Tuple2<String, Long> count : counts) {
                total += count._2();
                if (count._1().equals("w0")) {
                    w0 = count._2();
                }
            }
            if (total != wordsPerBatch) {
                failures.add("batch " + batch + ": counts add up to " + total + ", not " + wordsPerBatch);
            }
            if (batch == 0 && sharedBatchZero && (counts.size() != 10_000 || w0 != 89)) {
                failures.add("batch 0: " + counts.size() + " distinct words and w0 = " + w0
                        + ", not 10000 and 89");
            }
        }

        synchronized List<String> failures() {
            return new ArrayList<>(failures);
        }
    }

    /** Keeps the first `wanted` completed batches' infos. */
    static final class DelayListener implements StreamingListener {
        private final int wanted;
        private final List<BatchInfo> completed = new ArrayList<>();
        private final CountDownLatch done = new CountDownLatch(1);

        DelayListener(int wanted) {
            this.wanted = wanted;
        }

        @Override
        public void onBatchCompleted(StreamingListenerBatchCompleted event) {
            synchronized (this) {
                if (completed.size() < wanted) {
                    completed.add(event.batchInfo());
                    if (completed.size() == wanted) {
                        done.countDown();
                    }
                }
            }
        }

        boolean await(long seconds) throws InterruptedException {
            return done.await(seconds, TimeUnit.SECONDS);
        }

        synchronized List<BatchInfo> completed() {
            return new ArrayList<>(completed);
        }
    }

    /** Nearest-rank percentile of sorted values: the ceil(p * n)-th smallest. */
    static double percentile(double[] sorted, double p) {
        int rank = (int) Math.ceil(p * sorted.length);
        return sorted[Math.max(rank, 1) - 1];
    }

    static double[] sorted(List<BatchInfo> batches, java.util.function.Function<BatchInfo, scala.Option<Object>> delay) {
        double[] values = new double[batches.size()];
        for (int i = 0; i < values.length; i++) {
            values[i] = ((Long) delay.apply(batches.get(i)).get()).doubleValue();
        }
        Arrays.sort(values);
        return values;
    }

    static void run(JavaSparkContext jsc, Scenario scenario) throws InterruptedException {
        // The generator continues across a scenario's batches; each scenario starts at seed 42.
        WordGenerator words = new WordGenerator();
        Queue<JavaRDD<String>> queue = new LinkedList<>();
        for (int i = 0; i < scenario.batches(); i++) {
            queue.add(jsc.parallelize(words.batch(scenario.linesPerBatch())));
        }

        JavaStreamingContext ssc = new JavaStreamingContext(jsc, Durations.milliseconds(scenario.intervalMs()));
        DelayListener listener = new DelayListener(scenario.batches());
        ssc.addStreamingListener(listener);
        OutputCheck check = new OutputCheck(scenario.wordsPerBatch(), scenario.linesPerBatch() == 10_000);
        int batches = scenario.batches();

        JavaPairDStream<String, Long> counts = ssc.queueStream(queue, true)
                .flatMap(line -> Arrays.asList(line.split(" ")).iterator())
                .mapToPair(word -> new Tuple2<>(word, 1L))
                .reduceByKey(Long::sum);
        counts.foreachRDD(rdd -> {
            check.accept(rdd.collect(), batches);
        });

        ssc.start();
        boolean finished = listener.await(PATIENCE_SECONDS);
        ssc.stop(false, false); // the wanted batches are done; later ones are empty
        if (!finished) {
            throw new IllegalStateException(scenario.name() + ": " + batches
                    + " batches did not complete within " + PATIENCE_SECONDS + " s");
        }
        List<String> failures = check.failures();
        if (!failures.isEmpty()) {
            throw new IllegalStateException(scenario.name() + ": wrong counts: " + failures);
        }

        List<BatchInfo> all = listener.completed();
        StringBuilder detail = new StringBuilder("DETAIL spark " + scenario.name() + " processing_ms/scheduling_ms: ");
        for (BatchInfo batch : all) {
            detail.append(batch.processingDelay().get()).append('/').append(batch.schedulingDelay().get()).append(' ');
        }
        System.out.println(detail.toString().trim());
        List<BatchInfo> measured = all.subList(scenario.warmUp(), batches);
        double[] processing = sorted(measured, BatchInfo::processingDelay);
        double[] total = sorted(measured, BatchInfo::totalDelay);
        double[] scheduling = sorted(measured, BatchInfo::schedulingDelay);
        double median = percentile(processing, 0.5);
        System.out.printf(java.util.Locale.ROOT,
                "RESULT spark %s batches=%d words_per_batch=%d interval_ms=%d median_ms=%.3f p95_ms=%.3f"
                        + " median_total_ms=%.3f p95_total_ms=%.3f max_scheduling_ms=%.3f words_per_s=%.0f%n",
                scenario.name(), measured.size(), scenario.wordsPerBatch(), scenario.intervalMs(), median,
                percentile(processing, 0.95), percentile(total, 0.5), percentile(total, 0.95),
                scheduling[scheduling.length - 1], scenario.wordsPerBatch() / (median / 1000.0));
    }

    public static void main(String[] args) throws InterruptedException {
        checkGenerator();
        SparkConf conf = new SparkConf().setAppName("WordCountBench").setIfMissing("spark.master", "local[2]");
        try (JavaSparkContext jsc = new JavaSparkContext(conf)) {
            run(jsc, THROUGHPUT);
            run(jsc, LATENCY);
        }
    }
}
