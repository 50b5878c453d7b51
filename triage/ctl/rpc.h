// What every triagectl command that calls triaged shares (private to
// triage/ctl): the exit codes, the channel and per-call deadline with the
// credentials ConfigureConnection set, how a failed call is reported, and
// how a time is read from the command line.
#pragma once

#include <memory>
#include <string>

#include "google/protobuf/timestamp.pb.h"
#include "grpcpp/channel.h"
#include "grpcpp/client_context.h"
#include "grpcpp/support/status.h"

namespace triage::ctl {

constexpr int kOk = 0;
constexpr int kBadInput = 2;
constexpr int kServerError = 3;

// A channel to `server` with the configured credentials.
std::shared_ptr<grpc::Channel> Channel(const std::string& server);

// Drops the credentials ConfigureConnection set (before grpc_shutdown).
void CloseConnection();

// Every call's deadline and credentials.
void Deadline(grpc::ClientContext* ctx, int seconds = 60);

// Prints a failed call; bad input (the server said so) is exit 2, else 3.
int Failed(const grpc::Status& s);

// "now", RFC 3339, or Unix milliseconds.
bool ParseTime(const std::string& text, google::protobuf::Timestamp* out, std::string* error);

}  // namespace triage::ctl
