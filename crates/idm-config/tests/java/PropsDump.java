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
 * Encoding, as idm-config does it: UTF-8 when the bytes are valid UTF-8,
 * otherwise ISO-8859-1 (Properties.load(InputStream)).
 *
 * Usage: java PropsDump FILE...            dump each file
 *        java PropsDump --bench FILE N     time N loads, print MB/s
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

    static Properties load(byte[] bytes) throws IOException {
        Properties p = new Properties();
        CharsetDecoder dec = StandardCharsets.UTF_8.newDecoder()
            .onMalformedInput(CodingErrorAction.REPORT)
            .onUnmappableCharacter(CodingErrorAction.REPORT);
        String text;
        try {
            text = dec.decode(ByteBuffer.wrap(bytes)).toString();
        } catch (CharacterCodingException e) {
            p.load(new ByteArrayInputStream(bytes));
            return p;
        }
        p.load(new StringReader(text));
        return p;
    }

    public static void main(String[] args) throws Exception {
        if (args.length == 3 && args[0].equals("--bench")) {
            byte[] bytes = Files.readAllBytes(Paths.get(args[1]));
            int n = Integer.parseInt(args[2]);
            int keys = 0;
            for (int i = 0; i < Math.max(3, n / 5); i++) keys += load(bytes).size(); // warm-up
            long start = System.nanoTime();
            for (int i = 0; i < n; i++) keys += load(bytes).size();
            double secs = (System.nanoTime() - start) / 1e9;
            double mbps = (double) bytes.length * n / secs / 1e6;
            System.out.printf(Locale.ROOT, "java %.3f MB/s (%d keys)%n", mbps, keys);
            return;
        }
        StringBuilder out = new StringBuilder();
        for (String file : args) {
            out.append("FILE ").append(Paths.get(file).getFileName()).append('\n');
            try {
                Properties p = load(Files.readAllBytes(Paths.get(file)));
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
