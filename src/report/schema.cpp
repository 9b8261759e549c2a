// Validation of report.json against schemas/report.schema.json (embedded at build time) with valijson.
#include "report/report.h"

#include <fmt/format.h>
#include <memory>
#include <valijson/adapters/nlohmann_json_adapter.hpp>
#include <valijson/schema.hpp>
#include <valijson/schema_parser.hpp>
#include <valijson/validator.hpp>

extern const char* const nervemap_report_schema_text; // generated from schemas/report.schema.json

namespace nervemap::report {

const nlohmann::json& report_schema() {
  static const nlohmann::json schema = nlohmann::json::parse(nervemap_report_schema_text);
  return schema;
}

std::vector<std::string> schema_errors(const nlohmann::json& document) {
  static const std::unique_ptr<valijson::Schema> schema = [] {
    auto s = std::make_unique<valijson::Schema>();
    valijson::SchemaParser parser;
    valijson::adapters::NlohmannJsonAdapter adapter(report_schema());
    parser.populateSchema(adapter, *s);
    return s;
  }();
  valijson::Validator validator;
  valijson::ValidationResults results;
  valijson::adapters::NlohmannJsonAdapter target(document);
  std::vector<std::string> errors;
  if (validator.validate(*schema, target, &results))
    return errors;
  valijson::ValidationResults::Error e;
  while (results.popError(e)) {
    std::string where;
    for (const auto& c : e.context)
      where += c;
    errors.push_back(fmt::format("{}: {}", where, e.description));
  }
  return errors;
}

void validate_report(const nlohmann::json& document) {
  auto errors = schema_errors(document);
  if (!errors.empty())
    throw std::logic_error(fmt::format(
        "report.json does not match its schema ({} problems), first: {}", errors.size(), errors.front()));
}

} // namespace nervemap::report
