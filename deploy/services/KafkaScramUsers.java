// Creates or replaces SCRAM-SHA-512 and SCRAM-SHA-256 credentials through Kafka's Admin API
// (AlterUserScramCredentials; kafkajs has no such call and the broker jars carry no ConfigCommand).
// Run by deploy/services/kafka-acl.ts in Java's single-file source mode against the broker jars:
//   java -cp '<jars>/*' KafkaScramUsers.java <client.properties> <user>=<password-file> ...
// Passwords are read from files so they never appear on a command line.
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.ScramCredentialInfo;
import org.apache.kafka.clients.admin.ScramMechanism;
import org.apache.kafka.clients.admin.UserScramCredentialAlteration;
import org.apache.kafka.clients.admin.UserScramCredentialUpsertion;

public class KafkaScramUsers {
  public static void main(String[] args) throws Exception {
    Properties props = new Properties();
    try (var in = Files.newInputStream(Path.of(args[0]))) {
      props.load(in);
    }
    List<String> users = new ArrayList<>();
    try (Admin admin = Admin.create(props)) {
      // One request per mechanism: the broker refuses two alterations of one user in a request.
      for (ScramMechanism m : List.of(ScramMechanism.SCRAM_SHA_512, ScramMechanism.SCRAM_SHA_256)) {
        List<UserScramCredentialAlteration> changes = new ArrayList<>();
        users.clear();
        for (int i = 1; i < args.length; i++) {
          String[] userAndFile = args[i].split("=", 2);
          String password = Files.readString(Path.of(userAndFile[1])).strip();
          users.add(userAndFile[0]);
          changes.add(new UserScramCredentialUpsertion(userAndFile[0], new ScramCredentialInfo(m, 8192), password));
        }
        admin.alterUserScramCredentials(changes).all().get();
      }
    }
    System.out.println("SCRAM-SHA-512 and SCRAM-SHA-256 credentials set for " + String.join(", ", users));
  }
}
