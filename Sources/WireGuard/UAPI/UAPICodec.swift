/// The text codec of WireGuard's cross-platform userspace API (UAPI), the protocol `wg` speaks over
/// `/var/run/wireguard/<interface>.sock`: see <https://www.wireguard.com/xplatform/>.
///
/// Pure: it turns request lines into a ``UAPIConfigurationChange`` (``parseSet(_:)``) and snapshots
/// and errors into reply text (``formatGet(_:)``, ``formatError(_:)``). Splitting a byte stream into
/// requests is ``UAPIRequestParser``'s job; sockets belong to the daemon.
///
/// The details follow wireguard-go (`device/uapi.go`), which `wg` (wireguard-tools `src/ipc-uapi.h`)
/// is tested against.
public enum UAPICodec {
    /// The reply to a `set=1` request that succeeded.
    public static let successReply = "errno=0\n\n"

    /// The reply to a request that failed: `errno=<n>` and a blank line, `n` as in ``UAPIError/errno``.
    public static func formatError(_ error: UAPIError) -> String {
        "errno=\(error.errno)\n\n"
    }
}
