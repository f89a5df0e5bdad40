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
 *        java PropsDump --bench FILE N                     time N loads (latin1), print MB/s
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
        if (args.length == 3 && args[0].equals("--bench")) {
            byte[] bytes = Files.readAllBytes(Paths.get(args[1]));
            int n = Integer.parseInt(args[2]);
            int keys = 0;
            for (int i = 0; i < Math.max(3, n / 5); i++) keys += load(bytes, false).size(); // warm-up
            long start = System.nanoTime();
            for (int i = 0; i < n; i++) keys += load(bytes, false).size();
            double secs = (System.nanoTime() - start) / 1e9;
            double mbps = (double) bytes.length * n / secs / 1e6;
            System.out.printf(Locale.ROOT, "java %.3f MB/s (%d keys)%n", mbps, keys);
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
