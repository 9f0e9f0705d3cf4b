// Kafka's own choice of partition for a keyed record (the Java producer's default partitioner:
// BuiltInPartitioner.partitionForKey = toPositive(murmur2(key)) % partitions), for the golden
// values of central/consume/kafka.ts partitionOf. Run in single-file source mode:
//   java -cp "$HOME/.cache/gridwatch/jars/kafka-<version>/*" KafkaPartitions.java 6,12 S01 S02 ...
// prints one line per partition count and key: <partitions>\t<key>\t<partition>.
import java.nio.charset.StandardCharsets;
import org.apache.kafka.clients.producer.internals.BuiltInPartitioner;

public class KafkaPartitions {
    public static void main(String[] args) {
        for (String n : args[0].split(",")) {
            int partitions = Integer.parseInt(n);
            for (int i = 1; i < args.length; i++) {
                byte[] key = args[i].getBytes(StandardCharsets.UTF_8);
                System.out.println(partitions + "\t" + args[i] + "\t" + BuiltInPartitioner.partitionForKey(key, partitions));
            }
        }
    }
}
