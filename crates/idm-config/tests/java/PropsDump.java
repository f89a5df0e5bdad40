import java.io.*;
import java.nio.ByteBuffer;
import java.nio.charset.*;
import java.nio.file.*;
import java.util.*;

/**
 * Loads .properties files with java.util.Properties and prints every
 * key/value pair in an unambiguous escaped form, for comparison with the
 * Rust parser of idm-config.
 *
 * The bytes are read the way Java reads them, by the method chosen:
 *   --encoding latin1  Properties.load(InputStream) (ISO-8859-1; the default)
 *   --encoding utf8    Properties.load(Reader) with a UTF-8 InputStreamReader
 *                      (malformed bytes become U+FFFD)
 *
 * Usage: java PropsDump [--encoding latin1|utf8] FILE...   dump each file
 *        java PropsDump --bench N FILE...                  time N passes, see bench()
 */
public class PropsDump {
    static String esc(String s) {
        StringBuilder b = new StringBuilder();
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c > 0x20 && c < 0x7f && c != '\\') {
                b.append(c);
            } else {
                b.append(String.format("\\u%04X", (int) c));
            }
        }
        return b.toString();
    }

    static Properties load(byte[] bytes, boolean utf8) throws IOException {
        Properties p = new Properties();
        InputStream in = new ByteArrayInputStream(bytes);
        if (utf8) {
            p.load(new InputStreamReader(in, StandardCharsets.UTF_8));
        } else {
            p.load(in);
        }
        return p;
    }

    /**
     * One round of benches/parse.rs: a pass loads every file once with
     * Properties.load(Reader) over a UTF-8 InputStreamReader (a map of every
     * key to its value, what a user of the Reader method gets). The JIT is
     * warmed up first with the same work in this JVM (at least n passes and
     * at least two seconds), then n passes are timed. Prints
     * "java WALL_NS CPU_NS PASSES KEYS": wall time and this thread's CPU
     * time of the n timed passes.
     */
    static void bench(int n, String[] files) throws IOException {
        byte[][] bytes = new byte[files.length][];
        for (int i = 0; i < files.length; i++) bytes[i] = Files.readAllBytes(Paths.get(files[i]));
        long keys = 0;
        long warmStart = System.nanoTime();
        for (int pass = 0; pass < n || System.nanoTime() - warmStart < 2_000_000_000L; pass++) {
            for (byte[] b : bytes) keys += load(b, true).size();
        }
        java.lang.management.ThreadMXBean mx = java.lang.management.ManagementFactory.getThreadMXBean();
        long cpu0 = mx.getCurrentThreadCpuTime();
        long wall0 = System.nanoTime();
        long timedKeys = 0;
        for (int pass = 0; pass < n; pass++) {
            for (byte[] b : bytes) timedKeys += load(b, true).size();
        }
        long wall = System.nanoTime() - wall0;
        long cpu = mx.getCurrentThreadCpuTime() - cpu0;
        if (keys < 0) System.err.println(keys); // keeps the warm-up's result alive
        System.out.printf(Locale.ROOT, "java %d %d %d %d%n", wall, cpu, n, timedKeys);
    }

    public static void main(String[] args) throws Exception {
        boolean utf8 = false;
        int first = 0;
        if (args.length >= 2 && args[0].equals("--encoding")) {
            if (args[1].equals("utf8")) {
                utf8 = true;
            } else if (!args[1].equals("latin1")) {
                throw new IllegalArgumentException("--encoding latin1|utf8");
            }
            first = 2;
        }
        if (args.length >= 3 && args[0].equals("--bench")) {
            bench(Integer.parseInt(args[1]), Arrays.copyOfRange(args, 2, args.length));
            return;
        }
        StringBuilder out = new StringBuilder();
        for (String file : Arrays.copyOfRange(args, first, args.length)) {
            out.append("FILE ").append(Paths.get(file).getFileName()).append('\n');
            try {
                Properties p = load(Files.readAllBytes(Paths.get(file)), utf8);
                List<String> lines = new ArrayList<>();
                for (String k : p.stringPropertyNames()) {
                    lines.add("K " + esc(k) + " V " + esc(p.getProperty(k)));
                }
                Collections.sort(lines);
                for (String l : lines) out.append(l).append('\n');
            } catch (IllegalArgumentException e) {
                out.append("ERROR\n");
            }
        }
        System.out.print(out);
    }
}
