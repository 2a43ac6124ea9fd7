import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;

import org.codelibs.opensearch.runner.OpenSearchRunner;

/**
 * The embedded engine's JVM: OpenSearchRunner's own main loop, plus a control folder through
 * which one node of the cluster can be stopped and started again while the others keep
 * running (the three-node fault test). A request is a file named stop-node-N.request or
 * start-node-N.request (N from 0); the answer is written next to it as N's .done file.
 */
public final class DiemnongEngine {
    private DiemnongEngine() {
    }

    public static void main(String[] args) throws Exception {
        Path control = Paths.get(System.getProperty("diemnong.control", "control"));
        OpenSearchRunner runner = new OpenSearchRunner();
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            try {
                runner.close();
            } catch (Exception ignored) {
                // the JVM is going away anyway
            }
        }));
        runner.build(args);
        Files.createDirectories(control);
        while (!runner.isClosed()) {
            try (DirectoryStream<Path> requests = Files.newDirectoryStream(control, "*.request")) {
                for (Path request : requests) {
                    handle(runner, request);
                }
            }
            Thread.sleep(200);
        }
        runner.close();
        System.exit(0);
    }

    private static void handle(OpenSearchRunner runner, Path request) throws Exception {
        String name = request.getFileName().toString().replace(".request", "");
        String[] parts = name.split("-");
        String answer;
        try {
            int index = Integer.parseInt(parts[2]);
            if (parts[0].equals("stop")) {
                runner.getNode(index).close();
                answer = "stopped";
            } else {
                answer = runner.startNode(index) ? "started" : "already running";
            }
        } catch (Exception e) {
            answer = "error: " + e;
        }
        Files.writeString(request.resolveSibling(name + ".done"), answer, StandardCharsets.UTF_8);
        Files.delete(request);
    }
}
